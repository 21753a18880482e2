package scheduler

import (
	"errors"
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
