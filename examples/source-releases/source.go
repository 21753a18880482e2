package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bedrot-label/bedrot/sdk"
)

var spec = sdk.Spec{
	Name:        "releases",
	Version:     "0.1.0",
	Description: "Example source: the label's release calendar from a JSON file",
	Author:      "BEDROT examples",
	Params: []sdk.Param{
		{Name: "files", Description: "JSON files to read, separated by ':'", Required: true},
	},
}

var stream = sdk.Stream{
	Name: "releases",
	Doc:  "One row per release in the calendar.",
	Schema: sdk.Schema{Fields: []sdk.Field{
		{Name: "upc", Type: sdk.TypeString},
		{Name: "title", Type: sdk.TypeString},
		{Name: "artist", Type: sdk.TypeString},
		{Name: "release_date", Type: sdk.TypeDate},
		{Name: "tracks", Type: sdk.TypeInt64, Nullable: true},
	}},
	PrimaryKey: []string{"upc"},
}

type release struct {
	UPC         string `json:"upc"`
	Title       string `json:"title"`
	Artist      string `json:"artist"`
	ReleaseDate string `json:"release_date"`
	Tracks      *int64 `json:"tracks"`
}

type source struct{ sdk.UnimplementedSource }

func newSource() sdk.Source { return &source{} }

func files(cfg sdk.Config) ([]string, error) {
	if cfg["files"] == "" {
		return nil, sdk.ConfigError(fmt.Errorf("files: required"))
	}
	return strings.Split(cfg["files"], string(os.PathListSeparator)), nil
}

func (s *source) Check(_ context.Context, cfg sdk.Config) error {
	paths, err := files(cfg)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return sdk.ConfigError(fmt.Errorf("files: cannot read %s", p))
		}
	}
	return nil
}

func (s *source) Discover(context.Context, sdk.Config) ([]sdk.Stream, error) {
	return []sdk.Stream{stream}, nil
}

func (s *source) Read(ctx context.Context, req sdk.ReadRequest, out sdk.Emitter) error {
	paths, err := files(req.Config)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	_ = json.Unmarshal(req.State["releases"], &seen)
	for _, path := range paths {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := os.ReadFile(path) // release calendars are small
		if err != nil {
			return sdk.ConfigError(err)
		}
		sum := sha256.Sum256(data)
		id := hex.EncodeToString(sum[:])
		if seen[id] {
			out.Log(sdk.LevelInfo, "already ingested", "file", path)
			continue
		}
		p, err := out.BeginPayload(filepath.Base(path), "application/json")
		if err != nil {
			return err
		}
		if _, err := p.Write(data); err != nil {
			return err
		}
		if err := p.Close(); err != nil {
			return err
		}
		var rels []release
		dec := json.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&rels); err != nil {
			return p.End(0, []sdk.Problem{{File: filepath.Base(path), Message: "not a JSON array of releases: " + err.Error()}})
		}
		b := sdk.NewBatchBuilder(stream.Name, stream.Schema)
		b.Reset(stream.Name, p.ID())
		var problems []sdk.Problem
		for i, r := range rels {
			d, err := time.Parse("2006-01-02", r.ReleaseDate)
			if err != nil {
				problems = append(problems, sdk.Problem{File: filepath.Base(path), Line: int64(i + 1), Field: "release_date", Message: fmt.Sprintf("%q is not YYYY-MM-DD", r.ReleaseDate)})
				continue
			}
			b.AppendString(0, []byte(r.UPC))
			b.AppendString(1, []byte(r.Title))
			b.AppendString(2, []byte(r.Artist))
			b.AppendInt32(3, sdk.DaysSinceEpoch(d))
			if r.Tracks != nil {
				b.AppendInt64(4, *r.Tracks)
			} else {
				b.AppendNull(4)
			}
			b.EndRow()
		}
		if len(problems) == 0 && b.Len() > 0 {
			if err := out.Batch(b.Batch()); err != nil {
				return err
			}
		}
		if err := p.End(int64(b.Len()), problems); err != nil {
			return err
		}
		if len(problems) == 0 {
			seen[id] = true
			state, _ := json.Marshal(seen)
			if err := out.Checkpoint("releases", state); err != nil {
				return err
			}
		}
	}
	return nil
}
