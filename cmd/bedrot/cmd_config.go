package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/config"
	"github.com/bedrot-label/bedrot/host/notify"
)

func newConfigCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Show the effective configuration (defaults < file < environment < flags), secrets redacted",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := redacted(g.cfg)
			if g.json() {
				b, err := json.Marshal(cfg)
				if err != nil {
					return err
				}
				var body map[string]any
				if err := json.Unmarshal(b, &body); err != nil {
					return err
				}
				return g.printJSON("Config", body)
			}
			b, err := json.MarshalIndent(cfg, "", "  ")
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stdout, string(b))
			return nil
		},
	}
}

// redacted copies cfg with every secret replaced by "REDACTED".
func redacted(cfg config.Config) config.Config {
	hide := func(v string) string {
		if v == "" {
			return ""
		}
		return "REDACTED"
	}
	cfg.Storage.S3.SecretKey = hide(cfg.Storage.S3.SecretKey)
	cfg.Secrets.Key = hide(cfg.Secrets.Key)
	cfg.Database.URL = redactURL(cfg.Database.URL)
	cfg.Curated.AnalyticsURL = redactURL(cfg.Curated.AnalyticsURL)
	cfg.Lineage.URL = redactURL(cfg.Lineage.URL)
	notifiers := map[string]notify.NotifierConfig{}
	for name, n := range cfg.Alerts.Notifiers {
		// Webhook URLs carry tokens (Slack's path is the secret).
		n.URL, n.Secret, n.RoutingKey, n.Password = hide(n.URL), hide(n.Secret), hide(n.RoutingKey), hide(n.Password)
		headers := map[string]string{}
		for k, v := range n.Headers {
			headers[k] = hide(v)
		}
		n.Headers = headers
		notifiers[name] = n
	}
	cfg.Alerts.Notifiers = notifiers
	sources := map[string]config.SourceConfig{}
	for name, sc := range cfg.Sources {
		c := map[string]string{}
		for k, v := range sc.Config {
			if secretKey(k) {
				v = hide(v)
			}
			c[k] = v
		}
		sc.Config = c
		sources[name] = sc
	}
	cfg.Sources = sources
	return cfg
}

// secretKey guesses from a setting's name whether it holds a secret; the
// plugin's own spec is authoritative when the plugin runs.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"secret", "token", "password", "key", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// redactURL hides a password in a database URL.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	userinfo := u[scheme+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return u[:scheme+3] + user + ":REDACTED" + u[at:]
	}
	return u
}
