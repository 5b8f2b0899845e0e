package siem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HTTP posts each record, as application/json, to an endpoint that keeps
// what it receives (a witness on another host); any status but 2xx is a
// failure, and the record is sent again.
type HTTP struct {
	URL    string
	Client *http.Client // nil: one with a 10s timeout
}

// Send posts one record.
func (h *HTTP) Send(ctx context.Context, m Message) error {
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(m.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post to the witness: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post to the witness: %s", resp.Status)
	}
	return nil
}

// Close does nothing: connections are the client's.
func (h *HTTP) Close() error { return nil }
