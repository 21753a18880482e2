package access_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/bedrot-label/bedrot/host/access"
	"github.com/bedrot-label/bedrot/sdk"
)

const shippedFile = "../../config/access_control.yaml"

// shippedRoles reads config/access_control.yaml with plain yaml decoding,
// independently of the package's parser.
func shippedRoles(t *testing.T) map[string]map[string][]string {
	t.Helper()
	data, err := os.ReadFile(shippedFile)
	require.NoError(t, err)
	var doc struct {
		Roles map[string]map[string]any `yaml:"roles"`
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	out := map[string]map[string][]string{}
	for name, r := range doc.Roles {
		out[name] = map[string][]string{}
		for _, k := range []string{"read", "write", "execute", "assigned_zones"} {
			items, _ := r[k].([]any)
			for _, it := range items {
				out[name][k] = append(out[name][k], it.(string))
			}
		}
	}
	require.NotEmpty(t, out, "the shipped file defines roles")
	return out
}

// The bar: every role × zone × operation of the shipped file is decided as
// the file says.
func TestShippedPolicyMatrix(t *testing.T) {
	t.Parallel()
	roles := shippedRoles(t)
	policy, err := access.Load(shippedFile)
	require.NoError(t, err)

	var actions []string
	for _, r := range roles {
		for _, a := range r["execute"] {
			if !slices.Contains(actions, a) {
				actions = append(actions, a)
			}
		}
	}
	require.Contains(t, actions, "run_agent")

	ctx := context.Background()
	checked, allowed := 0, 0
	for name, r := range roles {
		for _, zone := range sdk.LakeZones {
			for _, op := range []access.Op{access.OpRead, access.OpWrite} {
				want := slices.Contains(r[string(op)], zone)
				d := policy.Decide(ctx, access.Request{Principal: access.Principal{Role: name}, Op: op, Zone: zone})
				require.Equal(t, want, d.Allowed, "role %s %s %s: rule %q reason %q", name, op, zone, d.Rule, d.Reason)
				if want {
					require.Contains(t, d.Rule, "roles."+name+"."+string(op)+" lists "+zone)
					require.Contains(t, d.Rule, shippedFile+":")
					allowed++
				} else {
					require.Equal(t, access.RuleDenyByDefault, d.Rule)
					require.NotEmpty(t, d.Reason)
				}
				switch op {
				case access.OpRead:
					require.Equal(t, want, policy.CanRead(name, zone))
				case access.OpWrite:
					require.Equal(t, want, policy.CanWrite(name, zone))
				}
				checked++
			}
		}
		for _, action := range actions {
			want := slices.Contains(r["execute"], action)
			d := policy.Decide(ctx, access.Request{Principal: access.Principal{Role: name}, Op: access.OpExecute, Action: action})
			require.Equal(t, want, d.Allowed, "role %s execute %s: %q %q", name, action, d.Rule, d.Reason)
			require.Equal(t, want, policy.CanExecute(name, action))
			if want {
				allowed++
			}
			checked++
		}
	}
	require.Equal(t, len(roles)*(2*len(sdk.LakeZones)+len(actions)), checked)
	require.Positive(t, allowed)
	require.Less(t, allowed, checked, "some requests are denied")
}

func TestDenyByDefault(t *testing.T) {
	t.Parallel()
	p := access.Default()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		req  access.Request
	}{
		{"unknown role", access.Request{Principal: access.Principal{Role: "intern"}, Op: access.OpRead, Zone: "curated"}},
		{"empty role", access.Request{Op: access.OpRead, Zone: "curated"}},
		{"unknown zone", access.Request{Principal: access.Principal{Role: "data_engineer"}, Op: access.OpRead, Zone: "secrets"}},
		{".agent is no zone", access.Request{Principal: access.Principal{Role: "data_engineer"}, Op: access.OpWrite, Zone: ".agent"}},
		{"unknown action", access.Request{Principal: access.Principal{Role: "data_engineer"}, Op: access.OpExecute, Action: "drop_lake"}},
		{"empty action", access.Request{Principal: access.Principal{Role: "data_engineer"}, Op: access.OpExecute}},
		{"unknown op", access.Request{Principal: access.Principal{Role: "data_engineer"}, Op: "delete", Zone: "sandbox"}},
	} {
		d := p.Decide(ctx, tc.req)
		require.False(t, d.Allowed, tc.name)
		require.Equal(t, access.RuleDenyByDefault, d.Rule, tc.name)
		require.NotEmpty(t, d.Reason, tc.name)
	}
	require.False(t, p.CanRead("intern", "curated"))
	require.False(t, p.CanWrite("data_engineer", "secrets"))
	require.False(t, p.CanExecute("analyst", "drop_lake"))
}

func TestDefaultIsTheShippedFile(t *testing.T) {
	t.Parallel()
	shipped, err := os.ReadFile(shippedFile)
	require.NoError(t, err)
	embedded, err := os.ReadFile("access_control.yaml")
	require.NoError(t, err)
	require.Equal(t, string(shipped), string(embedded), "host/access/access_control.yaml must be a copy of config/access_control.yaml: cp config/access_control.yaml host/access/")
	require.ElementsMatch(t, []string{"ai_agent", "analyst", "data_engineer"}, access.Default().Roles())
	require.Equal(t, access.DefaultPolicyFile, access.Default().File())
}

func TestGrantRequestNarrowsTheRole(t *testing.T) {
	t.Parallel()
	p := access.Default()
	ctx := context.Background()
	agent := access.Principal{Role: "ai_agent", AgentID: "a1", SessionID: "s1"}
	grant := sdk.ZoneAccess{Read: []string{"curated"}, Write: []string{"sandbox"}}
	d := p.Decide(ctx, access.Request{Principal: agent, Op: access.OpWrite, Zone: "knowledge", Grant: &grant})
	require.False(t, d.Allowed, "the role may write knowledge but the run was not granted it")
	require.Contains(t, d.Reason, "granted writes to sandbox only")
	require.True(t, p.Decide(ctx, access.Request{Principal: agent, Op: access.OpWrite, Zone: "sandbox", Grant: &grant}).Allowed)
	require.False(t, p.Decide(ctx, access.Request{Principal: agent, Op: access.OpRead, Zone: "staging", Grant: &grant}).Allowed)
	require.True(t, p.Decide(ctx, access.Request{Principal: agent, Op: access.OpRead, Zone: "curated", Grant: &grant}).Allowed)
	// A grant never widens the role.
	wide := sdk.ZoneAccess{Read: sdk.LakeZones, Write: sdk.LakeZones}
	require.False(t, p.Decide(ctx, access.Request{Principal: agent, Op: access.OpWrite, Zone: "curated", Grant: &wide}).Allowed)
	require.False(t, p.Decide(ctx, access.Request{Principal: agent, Op: access.OpRead, Zone: "raw", Grant: &wide}).Allowed)
}

func TestAgentGrant(t *testing.T) {
	t.Parallel()
	p := access.Default()
	g, err := p.AgentGrant("ai_agent", nil)
	require.NoError(t, err)
	require.Equal(t, sdk.ZoneAccess{Read: []string{"staging", "curated", "knowledge"}, Write: []string{"sandbox"}}, g)

	g, err = p.AgentGrant("ai_agent", []string{"knowledge"})
	require.NoError(t, err)
	require.Equal(t, []string{"knowledge"}, g.Write)

	_, err = p.AgentGrant("ai_agent", []string{"sandbox", "curated"})
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
	require.ErrorContains(t, err, "may write only sandbox, knowledge")

	_, err = p.AgentGrant("intern", nil)
	require.ErrorIs(t, err, sdk.ErrPermissionDenied)
}

func TestConstraints(t *testing.T) {
	t.Parallel()
	p := access.Default()
	d, q := p.Constraints("ai_agent")
	require.Equal(t, 30*time.Minute, d)
	require.Equal(t, access.Quota{Name: "medium", MemoryBytes: 1 << 30, CPU: 1, ReadBytes: 2 << 30, WriteBytes: 512 << 20}, q)
	require.Equal(t, sdk.Limits{MaxReadBytes: 2 << 30, MaxWriteBytes: 512 << 20}, q.Limits())
	require.Equal(t, sdk.Limits{MaxRuntime: 30 * time.Minute, MaxReadBytes: 2 << 30, MaxWriteBytes: 512 << 20}, p.Limits("ai_agent"))

	d, q = p.Constraints("analyst")
	require.Zero(t, d)
	require.Equal(t, access.Quota{}, q)
}

func TestQuotaOverride(t *testing.T) {
	t.Parallel()
	p, err := access.Parse("x.yaml", []byte(`
roles:
  bot:
    read: [curated]
    write: [sandbox]
    constraints: {max_runtime: 90s, resource_quota: tiny}
quotas:
  tiny: {memory: 64MiB, cpu: 0.25, read_bytes: 1MB, write_bytes: 1024}
  small: {memory: 128MiB}
`))
	require.NoError(t, err)
	d, q := p.Constraints("bot")
	require.Equal(t, 90*time.Second, d)
	require.Equal(t, access.Quota{Name: "tiny", MemoryBytes: 64 << 20, CPU: 0.25, ReadBytes: 1_000_000, WriteBytes: 1024}, q)
	small, err := p.Quota("small")
	require.NoError(t, err)
	require.Equal(t, access.Quota{Name: "small", MemoryBytes: 128 << 20, CPU: 0.5, ReadBytes: 256 << 20, WriteBytes: 64 << 20}, small)
	_, err = p.Quota("huge")
	require.True(t, errors.Is(err, access.ErrUnknownQuota))
}

func TestLoadErrorsNameFileAndKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown zone", "roles:\n  analyst:\n    read: [curated, secrets]\n", "x.yaml:3: roles.analyst.read: unknown zone \"secrets\""},
		{"unknown quota", "roles:\n  ai_agent:\n    write: [sandbox]\n    constraints:\n      resource_quota: huge\n", "x.yaml:5: roles.ai_agent.constraints.resource_quota: unknown quota \"huge\""},
		{"bad duration", "roles:\n  ai_agent:\n    constraints:\n      max_runtime: soon\n", "x.yaml:4: roles.ai_agent.constraints.max_runtime: bad duration \"soon\""},
		{"negative duration", "roles:\n  ai_agent:\n    constraints:\n      max_runtime: -5m\n", "roles.ai_agent.constraints.max_runtime: bad duration"},
		{"unknown role name", "roles:\n  Data Engineer:\n    read: [raw]\n", "x.yaml:2: roles.Data Engineer: unknown role name"},
		{"unknown role key", "roles:\n  analyst:\n    reed: [raw]\n", "x.yaml:3: roles.analyst.reed: unknown key"},
		{"unknown top key", "roles:\n  analyst:\n    read: [raw]\nzones: []\n", "x.yaml:4: zones: unknown key"},
		{"no roles", "quotas: {}\n", "x.yaml: roles: must map at least one role"},
		{"bad size", "roles:\n  a:\n    read: [raw]\nquotas:\n  small: {memory: lots}\n", "x.yaml:5: quotas.small.memory: bad size \"lots\""},
		{"bad cpu", "roles:\n  a:\n    read: [raw]\nquotas:\n  small: {cpu: -1}\n", "x.yaml:5: quotas.small.cpu: bad cpu"},
		{"incomplete new quota", "roles:\n  a:\n    read: [raw]\nquotas:\n  tiny: {memory: 1MiB}\n", "quotas.tiny.cpu: missing"},
		{"assigned outside write", "roles:\n  a:\n    write: [sandbox]\n    assigned_zones: [curated]\n", "x.yaml:4: roles.a.assigned_zones: zone curated is not in the role's write list"},
		{"bad action", "roles:\n  a:\n    execute: [Run Agent]\n", "x.yaml:3: roles.a.execute: unknown action"},
		{"not a list", "roles:\n  a:\n    read: raw\n", "x.yaml:3: roles.a.read: must be a list"},
		{"bad yaml", "roles: [\n", "x.yaml: not valid YAML"},
	} {
		_, err := access.Parse("x.yaml", []byte(tc.yaml))
		require.Error(t, err, tc.name)
		require.Contains(t, err.Error(), tc.want, tc.name)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "access_control.yaml")
	require.NoError(t, os.WriteFile(path, []byte("roles:\n  a:\n    read: [nowhere]\n"), 0o600))
	_, err := access.Load(path)
	require.ErrorContains(t, err, path+":3: roles.a.read: unknown zone \"nowhere\"")
	_, err = access.Load(filepath.Join(dir, "missing.yaml"))
	require.ErrorContains(t, err, "missing.yaml")
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"1024": 1024, "512B": 512, "1KiB": 1024, "256MiB": 256 << 20, "1.5GiB": 3 << 29, "1GB": 1e9, "2TiB": 2 << 40} {
		got, err := access.ParseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "-1", "1 XB", "MiB"} {
		_, err := access.ParseSize(bad)
		require.Error(t, err, bad)
	}
}
