package access

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bedrot-label/bedrot/sdk"
)

// DefaultPolicyFile is the file name Default reports in its rules; the
// shipped copy lives in config/access_control.yaml.
const DefaultPolicyFile = "config/access_control.yaml"

// defaultYAML is config/access_control.yaml as shipped; a test keeps the two
// copies identical.
//
//go:embed access_control.yaml
var defaultYAML []byte

// RuleDenyByDefault is the Rule of every denial.
const RuleDenyByDefault = "no rule allows it: deny by default"

// Op is the kind of access a Request asks for.
type Op string

// Operations.
const (
	OpRead    Op = "read"
	OpWrite   Op = "write"
	OpExecute Op = "execute"
)

// Principal is who asks.
type Principal struct {
	// Role is a role of the policy file, e.g. ai_agent.
	Role      string `json:"role"`
	AgentID   string `json:"agent_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
}

// Request is one access to decide.
type Request struct {
	Principal Principal
	Op        Op
	// Zone is the lake zone read or written (OpRead, OpWrite).
	Zone string
	// Action is the action run (OpExecute), e.g. query or run_agent.
	Action string
	// Resource names what is accessed (a dataset or object key), for the
	// audit log and messages; it does not change the decision.
	Resource string
	// Grant, when set, narrows the role's zones to what a run was granted
	// (see AgentGrant): a write needs the zone in Grant.Write (the sandbox
	// when it is empty, as sdk.ZoneAccess.CanWrite says), and a read needs
	// it in Grant.Read when Grant.Read is not empty.
	Grant *sdk.ZoneAccess
}

// Decision is the answer to a Request.
type Decision struct {
	Time    time.Time
	Request Request
	Allowed bool
	// Rule names what allowed the request, e.g.
	// "config/access_control.yaml:31 roles.ai_agent.read lists curated", or
	// RuleDenyByDefault.
	Rule string
	// Reason says, for a denial, what the policy does allow.
	Reason string
}

// Quota is a resource quota: limits on a plugin process and byte budgets of
// its run. Zero means no limit.
type Quota struct {
	Name        string
	MemoryBytes int64
	// CPU is a number of cores (0.5, 1, 2).
	CPU        float64
	ReadBytes  int64
	WriteBytes int64
}

// Limits returns the quota's budgets as the SDK's run limits (no runtime;
// see Policy.Limits).
func (q Quota) Limits() sdk.Limits {
	return sdk.Limits{MaxReadBytes: q.ReadBytes, MaxWriteBytes: q.WriteBytes}
}

// BuiltinQuotas is the quota table used when the file does not override it.
var BuiltinQuotas = map[string]Quota{
	"small":  {Name: "small", MemoryBytes: 256 << 20, CPU: 0.5, ReadBytes: 256 << 20, WriteBytes: 64 << 20},
	"medium": {Name: "medium", MemoryBytes: 1 << 30, CPU: 1, ReadBytes: 2 << 30, WriteBytes: 512 << 20},
	"large":  {Name: "large", MemoryBytes: 4 << 30, CPU: 2, ReadBytes: 16 << 30, WriteBytes: 4 << 30},
}

// list is one zone or action list of a role, with where it is in the file.
type list struct {
	items []string
	line  int
}

// role is one role of the file.
type role struct {
	name                           string
	read, write, execute, assigned list
	maxRuntime                     time.Duration
	quota                          string
}

// Policy is a loaded access_control.yaml. It is immutable and safe for
// concurrent use.
type Policy struct {
	file   string
	roles  map[string]*role
	quotas map[string]Quota
}

// Load reads and checks an access_control.yaml.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read the access policy: %w (set the access policy path to an existing access_control.yaml, or unset it to use the shipped default)", err)
	}
	return Parse(path, data)
}

// Default returns the shipped policy (config/access_control.yaml as
// embedded at build time), used when no file is configured.
func Default() *Policy {
	p, err := Parse(DefaultPolicyFile, defaultYAML)
	if err != nil {
		panic("access: the embedded default policy is invalid: " + err.Error())
	}
	return p
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Parse checks policy YAML read from file (file names it in errors and
// rules).
func Parse(file string, data []byte) (*Policy, error) {
	fail := func(n *yaml.Node, key, format string, args ...any) error {
		line := ""
		if n != nil && n.Line > 0 {
			line = ":" + strconv.Itoa(n.Line)
		}
		return fmt.Errorf("%s%s: %s: %s", file, line, key, fmt.Sprintf(format, args...))
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: not valid YAML: %w", file, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fail(nil, "(top level)", "must be a mapping with a roles key")
	}
	p := &Policy{file: file, roles: map[string]*role{}, quotas: map[string]Quota{}}
	for k, q := range BuiltinQuotas {
		p.quotas[k] = q
	}
	var rolesNode *yaml.Node
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "roles":
			rolesNode = v
		case "quotas":
			if err := p.parseQuotas(v, fail); err != nil {
				return nil, err
			}
		default:
			return nil, fail(k, k.Value, "unknown key; the file has roles and quotas")
		}
	}
	if rolesNode == nil || rolesNode.Kind != yaml.MappingNode || len(rolesNode.Content) == 0 {
		return nil, fail(rolesNode, "roles", "must map at least one role name to its read, write and execute lists")
	}
	for i := 0; i+1 < len(rolesNode.Content); i += 2 {
		k, v := rolesNode.Content[i], rolesNode.Content[i+1]
		key := "roles." + k.Value
		if !namePattern.MatchString(k.Value) {
			return nil, fail(k, key, "unknown role name %q: role names are lower-case words such as ai_agent", k.Value)
		}
		if _, dup := p.roles[k.Value]; dup {
			return nil, fail(k, key, "role defined twice")
		}
		r, err := p.parseRole(k.Value, v, fail)
		if err != nil {
			return nil, err
		}
		p.roles[r.name] = r
	}
	return p, nil
}

type failFunc func(n *yaml.Node, key, format string, args ...any) error

func (p *Policy) parseRole(name string, v *yaml.Node, fail failFunc) (*role, error) {
	key := "roles." + name
	if v.Kind != yaml.MappingNode {
		return nil, fail(v, key, "must be a mapping with read, write and execute lists")
	}
	r := &role{name: name}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		sub := key + "." + k.Value
		var err error
		switch k.Value {
		case "read":
			r.read, err = parseList(val, sub, true, fail)
		case "write":
			r.write, err = parseList(val, sub, true, fail)
		case "assigned_zones":
			r.assigned, err = parseList(val, sub, true, fail)
		case "execute":
			r.execute, err = parseList(val, sub, false, fail)
		case "constraints":
			err = p.parseConstraints(r, val, sub, fail)
		default:
			err = fail(k, sub, "unknown key; a role has read, write, execute, assigned_zones and constraints")
		}
		if err != nil {
			return nil, err
		}
	}
	for _, z := range r.assigned.items {
		if !slices.Contains(r.write.items, z) {
			return nil, fail(&yaml.Node{Line: r.assigned.line}, key+".assigned_zones",
				"zone %s is not in the role's write list %v; add it there or remove it here", z, r.write.items)
		}
	}
	return r, nil
}

func parseList(v *yaml.Node, key string, zones bool, fail failFunc) (list, error) {
	if v.Kind != yaml.SequenceNode {
		return list{}, fail(v, key, "must be a list, e.g. [curated, sandbox]")
	}
	l := list{line: v.Line}
	for _, it := range v.Content {
		if it.Kind != yaml.ScalarNode || it.Value == "" {
			return list{}, fail(it, key, "items must be names")
		}
		if zones && !sdk.IsLakeZone(it.Value) {
			return list{}, fail(it, key, "unknown zone %q; zones are %s", it.Value, strings.Join(sdk.LakeZones, ", "))
		}
		if !zones && !namePattern.MatchString(it.Value) {
			return list{}, fail(it, key, "unknown action %q; actions are lower-case words such as query or run_agent", it.Value)
		}
		if !slices.Contains(l.items, it.Value) {
			l.items = append(l.items, it.Value)
		}
	}
	return l, nil
}

func (p *Policy) parseConstraints(r *role, v *yaml.Node, key string, fail failFunc) error {
	if v.Kind != yaml.MappingNode {
		return fail(v, key, "must be a mapping with max_runtime and resource_quota")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		sub := key + "." + k.Value
		switch k.Value {
		case "max_runtime":
			d, err := time.ParseDuration(val.Value)
			if err != nil || d <= 0 {
				return fail(val, sub, "bad duration %q; write a positive Go duration such as 30m or 1h30m", val.Value)
			}
			r.maxRuntime = d
		case "resource_quota":
			if _, ok := p.quotas[val.Value]; !ok {
				return fail(val, sub, "unknown quota %q; use one of %s", val.Value, strings.Join(slices.Sorted(maps.Keys(p.quotas)), ", "))
			}
			r.quota = val.Value
		default:
			return fail(k, sub, "unknown key; constraints has max_runtime and resource_quota")
		}
	}
	return nil
}

func (p *Policy) parseQuotas(v *yaml.Node, fail failFunc) error {
	if v.Kind != yaml.MappingNode {
		return fail(v, "quotas", "must map quota names to {memory, cpu, read_bytes, write_bytes}")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		key := "quotas." + k.Value
		if !namePattern.MatchString(k.Value) {
			return fail(k, key, "quota names are lower-case words such as small")
		}
		if val.Kind != yaml.MappingNode {
			return fail(val, key, "must be {memory, cpu, read_bytes, write_bytes}")
		}
		q, builtin := BuiltinQuotas[k.Value]
		q.Name = k.Value
		seen := map[string]bool{}
		for j := 0; j+1 < len(val.Content); j += 2 {
			fk, fv := val.Content[j], val.Content[j+1]
			sub := key + "." + fk.Value
			seen[fk.Value] = true
			switch fk.Value {
			case "memory", "read_bytes", "write_bytes":
				n, err := ParseSize(fv.Value)
				if err != nil {
					return fail(fv, sub, "%v", err)
				}
				switch fk.Value {
				case "memory":
					q.MemoryBytes = n
				case "read_bytes":
					q.ReadBytes = n
				default:
					q.WriteBytes = n
				}
			case "cpu":
				c, err := strconv.ParseFloat(fv.Value, 64)
				if err != nil || c <= 0 {
					return fail(fv, sub, "bad cpu %q; write a positive number of cores such as 0.5 or 2", fv.Value)
				}
				q.CPU = c
			default:
				return fail(fk, sub, "unknown key; a quota has memory, cpu, read_bytes and write_bytes")
			}
		}
		if !builtin {
			for _, f := range []string{"memory", "cpu", "read_bytes", "write_bytes"} {
				if !seen[f] {
					return fail(val, key+"."+f, "missing; a new quota must set memory, cpu, read_bytes and write_bytes")
				}
			}
		}
		p.quotas[k.Value] = q
	}
	return nil
}

var sizePattern = regexp.MustCompile(`^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$`)

// ParseSize reads a byte size: 1024, 512B, 256KiB, 1MiB, 2GiB, 1TiB, or the
// decimal 1KB, 1MB, 1GB, 1TB.
func ParseSize(s string) (int64, error) {
	m := sizePattern.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("bad size %q; write bytes or a size such as 256MiB or 1GiB", s)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q: %w", s, err)
	}
	mult := map[string]float64{"": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[m[2]]
	return int64(f * mult), nil
}

// File is the file the policy was read from.
func (p *Policy) File() string { return p.file }

// Roles lists the roles of the file, sorted.
func (p *Policy) Roles() []string { return slices.Sorted(maps.Keys(p.roles)) }

// CanRead reports whether role may read zone.
func (p *Policy) CanRead(roleName, zone string) bool {
	r := p.roles[roleName]
	return r != nil && sdk.IsLakeZone(zone) && slices.Contains(r.read.items, zone)
}

// CanWrite reports whether role may write zone.
func (p *Policy) CanWrite(roleName, zone string) bool {
	r := p.roles[roleName]
	return r != nil && sdk.IsLakeZone(zone) && slices.Contains(r.write.items, zone)
}

// CanExecute reports whether role may run action.
func (p *Policy) CanExecute(roleName, action string) bool {
	r := p.roles[roleName]
	return r != nil && action != "" && slices.Contains(r.execute.items, action)
}

// Decide answers a request; it never fails: anything the file does not allow
// is denied with RuleDenyByDefault and a Reason.
func (p *Policy) Decide(_ context.Context, req Request) Decision {
	d := Decision{Time: time.Now().UTC(), Request: req, Rule: RuleDenyByDefault}
	r := p.roles[req.Principal.Role]
	if r == nil {
		d.Reason = fmt.Sprintf("role %q is not in %s (roles: %s)", req.Principal.Role, p.file, strings.Join(p.Roles(), ", "))
		return d
	}
	var l list
	var what, item string
	switch req.Op {
	case OpRead:
		l, what, item = r.read, "read", req.Zone
	case OpWrite:
		l, what, item = r.write, "write", req.Zone
	case OpExecute:
		l, what, item = r.execute, "execute", req.Action
	default:
		d.Reason = fmt.Sprintf("operation %q is not read, write or execute", req.Op)
		return d
	}
	if req.Op != OpExecute && !sdk.IsLakeZone(req.Zone) {
		d.Reason = fmt.Sprintf("zone %q is not a lake zone (%s)", req.Zone, strings.Join(sdk.LakeZones, ", "))
		return d
	}
	if item == "" || !slices.Contains(l.items, item) {
		d.Reason = fmt.Sprintf("role %s may %s only %s, not %q (%s:%d roles.%s.%s)",
			r.name, what, orNone(l.items), item, p.file, l.line, r.name, what)
		return d
	}
	if g := req.Grant; g != nil {
		switch {
		case req.Op == OpWrite && !g.CanWrite(req.Zone):
			write := g.Write
			if len(write) == 0 {
				write = []string{sdk.ZoneSandbox}
			}
			d.Reason = fmt.Sprintf("the run was granted writes to %s only, not %s (the role may write it; the task must ask for it)", orNone(write), req.Zone)
			return d
		case req.Op == OpRead && len(g.Read) > 0 && !g.CanRead(req.Zone):
			d.Reason = fmt.Sprintf("the run was granted reads of %s only, not %s", orNone(g.Read), req.Zone)
			return d
		}
	}
	d.Allowed = true
	d.Rule = fmt.Sprintf("%s:%d roles.%s.%s lists %s", p.file, l.line, r.name, what, item)
	return d
}

func orNone(items []string) string {
	if len(items) == 0 {
		return "nothing"
	}
	return strings.Join(items, ", ")
}

// AgentGrant returns the zones a task of an agent with role gets: it reads
// the role's read zones; it writes taskZones when given (each must be in the
// role's write list) or else the role's assigned_zones. An unknown role or a
// task zone outside the role's write list is an error wrapping
// sdk.ErrPermissionDenied.
func (p *Policy) AgentGrant(roleName string, taskZones []string) (sdk.ZoneAccess, error) {
	r := p.roles[roleName]
	if r == nil {
		return sdk.ZoneAccess{}, fmt.Errorf("%w: %s: role %q is not in %s (roles: %s)", sdk.ErrPermissionDenied, RuleDenyByDefault, roleName, p.file, strings.Join(p.Roles(), ", "))
	}
	g := sdk.ZoneAccess{Read: slices.Clone(r.read.items)}
	if len(taskZones) == 0 {
		g.Write = slices.Clone(r.assigned.items)
		return g, nil
	}
	for _, z := range taskZones {
		if !slices.Contains(r.write.items, z) {
			return sdk.ZoneAccess{}, fmt.Errorf("%w: %s: the task asks to write %s but role %s may write only %s (%s:%d roles.%s.write)",
				sdk.ErrPermissionDenied, RuleDenyByDefault, z, r.name, orNone(r.write.items), p.file, r.write.line, r.name)
		}
		if !slices.Contains(g.Write, z) {
			g.Write = append(g.Write, z)
		}
	}
	return g, nil
}

// Constraints returns a role's max_runtime and resource quota; zero values
// (no limit) for a role without constraints or not in the file.
func (p *Policy) Constraints(roleName string) (time.Duration, Quota) {
	r := p.roles[roleName]
	if r == nil {
		return 0, Quota{}
	}
	var q Quota
	if r.quota != "" {
		q = p.quotas[r.quota]
	}
	return r.maxRuntime, q
}

// Limits returns a role's run limits: max_runtime and its quota's budgets.
func (p *Policy) Limits(roleName string) sdk.Limits {
	d, q := p.Constraints(roleName)
	l := q.Limits()
	l.MaxRuntime = d
	return l
}

// ErrUnknownQuota is returned by Quota for a name not in the table.
var ErrUnknownQuota = errors.New("unknown quota")

// Quota returns a quota of the policy's table by name.
func (p *Policy) Quota(name string) (Quota, error) {
	q, ok := p.quotas[name]
	if !ok {
		return Quota{}, fmt.Errorf("%w %q; use one of %s", ErrUnknownQuota, name, strings.Join(slices.Sorted(maps.Keys(p.quotas)), ", "))
	}
	return q, nil
}
