package siem

import (
	"context"
	"log/slog"
)

// LogTee passes every record to the next handler and also offers those at
// Level or above to a forwarder: the warnings that have no audit event
// (a RADIUS packet from an unknown client, a refused LDAP bind, a failing
// destination of the sync) reach the collector too.
type LogTee struct {
	next   slog.Handler
	offer  func(Message)
	level  slog.Level
	host   string
	attrs  []slog.Attr // with their group prefix applied
	prefix string
}

// NewLogTee tees records at level or above to offer (Forwarder.Offer, or
// several); offer must not block.
func NewLogTee(next slog.Handler, offer func(Message), level slog.Level, host string) *LogTee {
	return &LogTee{next: next, offer: offer, level: level, host: host}
}

// Enabled implements slog.Handler.
func (h *LogTee) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level || h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *LogTee) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.next.Enabled(ctx, r.Level) {
		err = h.next.Handle(ctx, r)
	}
	if r.Level >= h.level {
		attrs := map[string]any{}
		for _, a := range h.attrs {
			addAttr(attrs, "", a)
		}
		r.Attrs(func(a slog.Attr) bool {
			addAttr(attrs, h.prefix, a)
			return true
		})
		h.offer(LogMessage(r, attrs, h.host))
	}
	return err
}

func addAttr(m map[string]any, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			addAttr(m, p, g)
		}
		return
	}
	if a.Key == "" {
		return
	}
	switch v.Kind() {
	case slog.KindAny:
		if e, ok := v.Any().(error); ok {
			m[prefix+a.Key] = e.Error()
			return
		}
		m[prefix+a.Key] = v.String()
	case slog.KindDuration:
		m[prefix+a.Key] = v.Duration().String()
	case slog.KindTime:
		m[prefix+a.Key] = v.Time().UTC()
	default:
		m[prefix+a.Key] = v.Any()
	}
}

// WithAttrs implements slog.Handler.
func (h *LogTee) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	c.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		if h.prefix != "" {
			a.Key = h.prefix + a.Key
		}
		c.attrs = append(c.attrs, a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *LogTee) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	if name != "" {
		c.prefix = h.prefix + name + "."
	}
	return &c
}
