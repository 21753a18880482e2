package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
)

// redactErr removes a database URL's password from an error's text.
func redactErr(err error, dbURL string) error {
	if err == nil || dbURL == "" {
		return err
	}
	u, perr := url.Parse(dbURL)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "REDACTED"))
}

// quietHandler passes on records at Warn and above only: River's own
// informational logs (migrations, leadership) are not the operator's.
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(as)}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name)}
}
