package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bedrot-label/bedrot/host/pluginhost/plugintest"
)

func TestContractsLifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := newCLI(t, "BEDROT_QUALITY_CONTRACTS_DIR="+dir, "BEDROT_SOURCES__FIXTURE__CONFIG__ROWS=10")
	c.ok("init")
	c.ok("plugin", "install", plugintest.Fixture(t, "bedrot-source-fixture"))
	withEnv := func(env ...string) *cli {
		cc := *c
		cc.env = append(append([]string(nil), c.env...), env...)
		return &cc
	}

	withEnv("BEDROT_SOURCES__FIXTURE__CONFIG__PAYLOAD=one").ok("run", "fixture")
	ls := c.json("contracts", "ls")
	item := ls["items"].([]any)[0].(map[string]any)
	require.Equal(t, "raw.fixture.items", item["dataset"])
	require.EqualValues(t, 1, item["version"])
	require.Equal(t, "discovered", item["origin"])

	// evolve adds the new column as version 2; diff says so.
	out := withEnv("BEDROT_SOURCES__FIXTURE__CONFIG__PAYLOAD=two", "BEDROT_SOURCES__FIXTURE__CONFIG__EXTRA_COLUMN=genre").ok("run", "fixture", "-o", "json")
	require.Contains(t, out, "evolved to v2")
	diff := c.ok("contracts", "diff", "raw.fixture.items")
	require.Contains(t, diff, "raw.fixture.items v1 -> v2 (new column(s) genre seen in run")
	require.Contains(t, diff, "+ column genre string (nullable)")

	// The user writes the contract file from 'show -o yaml' and freezes it.
	yml := c.ok("contracts", "show", "raw.fixture.items", "-o", "yaml")
	yml = strings.Replace(yml, "policy: evolve", "policy: freeze", 1)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "raw.fixture.items.yaml"), []byte(yml), 0o644))
	r := withEnv("BEDROT_SOURCES__FIXTURE__CONFIG__PAYLOAD=three", "BEDROT_SOURCES__FIXTURE__CONFIG__EXTRA_COLUMN=mood").run("run", "fixture")
	require.Equal(t, 3, r.code, "the payload is quarantined\n"+r.stdout+r.stderr)
	require.Contains(t, r.stdout, "QUARANTINED")
	require.Contains(t, r.stdout, "breaks contract raw.fixture.items v3: new column(s) mood: the contract of raw.fixture.items is frozen")
	show := c.ok("contracts", "show", "raw.fixture.items")
	require.Contains(t, show, "raw.fixture.items v3 (file")
	require.Contains(t, show, "contract file "+filepath.Join(dir, "raw.fixture.items.yaml")+" created")
}
