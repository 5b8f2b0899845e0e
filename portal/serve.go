package portal

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// SessionPurgeEvery is how often Serve deletes expired sessions.
const SessionPurgeEvery = time.Hour

// Serve serves the portal on ln, over TLS when tlsConf is set, until ctx
// ends, deleting expired sessions every SessionPurgeEvery. On the way out
// it lets the requests in flight finish, for ten seconds at most.
func (s *Server) Serve(ctx context.Context, ln net.Listener, tlsConf *tls.Config) error {
	srv := &http.Server{
		Handler:           s,
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() {
		if tlsConf != nil {
			errc <- srv.ServeTLS(ln, "", "")
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	purge := time.NewTicker(SessionPurgeEvery)
	defer purge.Stop()
	for {
		select {
		case err := <-errc:
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return err
		case <-purge.C:
			if n, err := s.PurgeSessions(ctx); err != nil {
				s.log.Warn("purging expired portal sessions", "err", err)
			} else if n > 0 {
				s.log.Info("purged expired portal sessions", "count", n)
			}
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		}
	}
}
