package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bedrot-label/bedrot/host/metastore"
	"github.com/bedrot-label/bedrot/sdk"
)

// Registry keeps contracts in the metastore, fed by the contract files of
// Dir (config/contracts by default).
type Registry struct {
	Meta metastore.Store
	Dir  string
}

func (r *Registry) dir() string {
	if r.Dir == "" {
		return filepath.Join("config", "contracts")
	}
	return r.Dir
}

// Versioned is a contract with its version number.
type Versioned struct {
	Contract
	Version int
	Origin  string
}

// file reads dataset's contract file, if any, and its content hash.
func (r *Registry) file(dataset string) (*Contract, string, error) {
	for _, ext := range []string{".yaml", ".yml"} {
		path := filepath.Join(r.dir(), dataset+ext)
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		c, err := Parse(path, data)
		if err != nil {
			return nil, "", err
		}
		if c.Dataset != dataset {
			return nil, "", fmt.Errorf("%w: %s names dataset %s", ErrBadContract, path, c.Dataset)
		}
		return &c, c.Fingerprint(), nil
	}
	return nil, "", nil
}

// Current returns a dataset's newest contract version after taking in its
// file: a file that changed since it was last taken in becomes a new
// version. It returns nil when the dataset has neither.
func (r *Registry) Current(ctx context.Context, dataset string) (*Versioned, error) {
	f, hash, err := r.file(dataset)
	if err != nil {
		return nil, err
	}
	versions, err := r.Meta.ContractVersions(ctx, dataset)
	if err != nil {
		return nil, err
	}
	if f != nil {
		lastFile := ""
		for _, v := range versions {
			if v.Origin == "file" {
				lastFile = v.FileHash
			}
		}
		if lastFile != hash {
			reason := "contract file " + filepath.Join(r.dir(), dataset+".yaml") + " created"
			if lastFile != "" {
				reason = "contract file " + filepath.Join(r.dir(), dataset+".yaml") + " edited"
			}
			if _, err := r.add(ctx, *f, "file", reason, hash); err != nil {
				return nil, err
			}
			if versions, err = r.Meta.ContractVersions(ctx, dataset); err != nil {
				return nil, err
			}
		}
	}
	if len(versions) == 0 {
		return nil, nil
	}
	last := versions[len(versions)-1]
	var c Contract
	if err := json.Unmarshal(last.Spec, &c); err != nil {
		return nil, fmt.Errorf("contract %s version %d in the metastore is unreadable: %w", dataset, last.Version, err)
	}
	return &Versioned{Contract: c, Version: last.Version, Origin: last.Origin}, nil
}

func (r *Registry) add(ctx context.Context, c Contract, origin, reason, hash string) (int, error) {
	spec, err := json.Marshal(c)
	if err != nil {
		return 0, err
	}
	return r.Meta.AddContractVersion(ctx, metastore.ContractVersion{Dataset: c.Dataset, Origin: origin, Reason: reason, FileHash: hash, Spec: spec})
}

// Outcome is what the registry decided for a stream about to be written.
type Outcome struct {
	Decision
	// Contract is the contract in force after the decision.
	Contract Versioned
	// Notes say in words what happened (a new version, dropped columns).
	Notes []string
}

// Enforce checks a stream's declared schema against its dataset's contract
// and applies the policy: a dataset seen for the first time gets a
// contract from the schema; under evolve new columns make a new version.
// The caller fails or filters the stream's batches as the Decision says.
func (r *Registry) Enforce(ctx context.Context, dataset string, schema sdk.Schema, primaryKey []string, runID string) (Outcome, error) {
	c := FromSchema(dataset, schema, primaryKey)
	cur, err := r.Current(ctx, dataset)
	if err != nil {
		return Outcome{}, err
	}
	if cur == nil {
		v, err := r.add(ctx, c, "discovered", "first seen in run "+runID, "")
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Contract: Versioned{Contract: c, Version: v, Origin: "discovered"},
			Notes: []string{fmt.Sprintf("contract %s v%d created from the source's schema", dataset, v)}}, nil
	}
	dec := Decide(cur.Contract, Compare(cur.Contract, schema))
	out := Outcome{Decision: dec, Contract: *cur}
	if dec.Evolved != nil && len(dec.Violations) == 0 {
		var names []string
		for _, col := range dec.Evolved.Columns[len(cur.Columns):] {
			names = append(names, col.Name)
		}
		reason := fmt.Sprintf("new column(s) %s seen in run %s", strings.Join(names, ", "), runID)
		v, err := r.add(ctx, *dec.Evolved, "evolved", reason, "")
		if err != nil {
			return Outcome{}, err
		}
		out.Contract = Versioned{Contract: *dec.Evolved, Version: v, Origin: "evolved"}
		out.Notes = append(out.Notes, fmt.Sprintf("contract %s evolved to v%d: %s", dataset, v, reason))
	}
	if len(dec.Drop) > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("contract %s (%s): new column(s) %s are not kept", dataset, cur.Policy, strings.Join(dec.Drop, ", ")))
	}
	return out, nil
}
