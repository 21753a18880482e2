package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bedrot-label/bedrot/host/lake"
	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/sdk"
)

func newPluginCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugin",
		Short: "Install, list, remove and verify connector plugins",
		Long: `Plugins are separate binaries named bedrot-<kind>-<name> (bedrot-source-distrokid)
that speak BEDROT's gRPC plugin protocol. Installing one records its name, kind,
version, protocol version and SHA-256 in the metastore and in the lake's lock
file (.bedrot/plugins.lock.json); every launch checks the SHA-256 again, so a
changed binary refuses to run until it is reinstalled.`,
	}
	cmd.AddCommand(newPluginInstallCmd(g), newPluginListCmd(g), newPluginRemoveCmd(g), newPluginVerifyCmd(g))
	return cmd
}

func pluginItems(ps []metastore.Plugin) []map[string]any {
	out := []map[string]any{}
	for _, p := range ps {
		out = append(out, map[string]any{"kind": p.Kind, "name": p.Name, "version": p.Version, "protocol_version": p.ProtocolVersion,
			"sha256": p.SHA256, "path": p.Path, "installed_at": p.InstalledAt.UTC().Format(time.RFC3339)})
	}
	return out
}

func newPluginInstallCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "install PATH...",
		Short: "Install plugin binaries (a file, or every bedrot-* binary in a folder)",
		Example: `  bedrot plugin install ./bin/bedrot-source-distrokid
  bedrot plugin install ./bin`,
		Args: minArgs(1, "a plugin binary or a folder of them"),
		RunE: g.withLake(true, func(ctx context.Context, l *lake.Lake, args []string) error {
			var installed []metastore.Plugin
			for _, path := range args {
				res, err := l.Plugins.Install(ctx, path)
				for _, r := range res {
					installed = append(installed, r.Plugin)
					if !g.json() {
						verb := "Installed"
						switch {
						case r.Replaced != nil && r.Replaced.SHA256 == r.Plugin.SHA256:
							verb = "Reinstalled (unchanged)"
						case r.Replaced != nil:
							verb = fmt.Sprintf("Replaced %s (sha256 %s) with", r.Replaced.Version, short(r.Replaced.SHA256))
						}
						fmt.Fprintf(g.stdout, "%s %s/%s %s (protocol v%d, sha256 %s)\n", verb, r.Plugin.Kind, r.Plugin.Name,
							r.Plugin.Version, r.Plugin.ProtocolVersion, r.Plugin.SHA256[:12])
					}
				}
				if err != nil {
					return err
				}
			}
			if g.json() {
				return g.printJSON("PluginList", map[string]any{"items": pluginItems(installed)})
			}
			return nil
		}),
	}
}

func newPluginListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List installed plugins",
		Args:  exactArgs(0, "no arguments"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			ps, err := l.Meta.ListPlugins(ctx)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("PluginList", map[string]any{"items": pluginItems(ps)})
			}
			tw := g.table()
			fmt.Fprintln(tw, "KIND\tNAME\tVERSION\tPROTOCOL\tSHA256\tINSTALLED")
			for _, p := range ps {
				fmt.Fprintf(tw, "%s\t%s\t%s\tv%d\t%s\t%s\n", p.Kind, p.Name, p.Version, p.ProtocolVersion, p.SHA256[:12], p.InstalledAt.UTC().Format("2006-01-02 15:04"))
			}
			tw.Flush()
			if len(ps) == 0 {
				fmt.Fprintln(g.stderr, "no plugins installed; try `bedrot plugin install ./bin`")
			}
			return nil
		}),
	}
}

func splitPluginRef(ref string) (kind, name string) {
	if k, n, ok := strings.Cut(ref, "/"); ok {
		return k, n
	}
	return sdk.KindSource, ref
}

func newPluginRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "remove [KIND/]NAME",
		Short:   "Uninstall a plugin (kind defaults to source)",
		Example: "  bedrot plugin remove distrokid\n  bedrot plugin remove source/distrokid",
		Args:    exactArgs(1, "one plugin name"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			kind, name := splitPluginRef(args[0])
			p, err := l.Plugins.Remove(ctx, kind, name)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON("PluginList", map[string]any{"items": pluginItems([]metastore.Plugin{p})})
			}
			fmt.Fprintf(g.stdout, "Removed %s/%s %s\n", p.Kind, p.Name, p.Version)
			return nil
		}),
	}
}

func newPluginVerifyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Re-hash every installed plugin binary against its recorded SHA-256",
		Long:  "verify exits 1 if any binary is missing or differs from what was installed.",
		Args:  exactArgs(0, "no arguments"),
		RunE: g.withLake(false, func(ctx context.Context, l *lake.Lake, args []string) error {
			res, err := l.Plugins.Verify(ctx)
			if err != nil {
				return err
			}
			bad := 0
			items := []map[string]any{}
			for _, r := range res {
				if !r.OK {
					bad++
				}
				items = append(items, map[string]any{"kind": r.Plugin.Kind, "name": r.Plugin.Name, "ok": r.OK,
					"expected_sha256": r.Plugin.SHA256, "actual_sha256": r.Actual, "error": r.Error})
			}
			if g.json() {
				if err := g.printJSON("PluginVerification", map[string]any{"items": items}); err != nil {
					return err
				}
			} else {
				for _, r := range res {
					if r.OK {
						fmt.Fprintf(g.stdout, "ok        %s/%s %s\n", r.Plugin.Kind, r.Plugin.Name, r.Plugin.Version)
					} else {
						fmt.Fprintf(g.stdout, "FAILED    %s/%s %s: %s (%s)\n", r.Plugin.Kind, r.Plugin.Name, r.Plugin.Version, r.Error, r.Plugin.Path)
					}
				}
			}
			if bad > 0 {
				return &exitError{code: exitFailure, err: fmt.Errorf("%d plugin(s) failed verification; reinstall them with `bedrot plugin install`", bad)}
			}
			return nil
		}),
	}
}
