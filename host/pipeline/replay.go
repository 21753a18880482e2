package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bedrot-label/bedrot/host/zone"
	"github.com/bedrot-label/bedrot/sdk"
	"github.com/bedrot-label/bedrot/sdk/digest"
)

// FilesParam is the configuration parameter through which file-drop sources
// take an explicit list of files (os.PathListSeparator between paths).
// Replay works for sources that declare it.
const FilesParam = "files"

// replaySet maps the local copies of landing payloads handed to the plugin
// back to what landing holds, and checks the plugin re-read them exactly.
type replaySet struct {
	byName map[string]replayItem
	hashes map[string]*digest.Hash
}

type replayItem struct {
	key, sum string
	size     int64
}

func (s *replaySet) begin(ps *payloadState) error {
	it, ok := s.byName[ps.name]
	if !ok {
		return fmt.Errorf("replay: plugin read %q, which is not a landing payload", ps.name)
	}
	ps.key, ps.sum, ps.size = it.key, it.sum, it.size
	ps.result.Key, ps.result.Digest, ps.result.Size = it.key, it.sum, it.size
	h, err := digest.For(it.sum)
	if err != nil {
		return fmt.Errorf("replay: the landing manifest lists %s with %w", it.key, err)
	}
	s.hashes[ps.id] = h
	return nil
}

func (s *replaySet) write(ps *payloadState, b []byte) error {
	s.hashes[ps.id].Write(b)
	return nil
}

func (s *replaySet) close(ps *payloadState, c *sdk.PayloadClose) error {
	if got := s.hashes[ps.id].String(); !digest.Equal(got, ps.sum) {
		return fmt.Errorf("replay: %s changed in landing: digest %s, recorded %s", ps.key, got, ps.sum)
	}
	return nil
}

// Replay rebuilds a source's raw files from the payloads kept in landing,
// without calling the source: every landing payload is handed to the plugin
// again and its raw files replace the old ones in one commit. cfg is the
// source's configuration minus its inputs (req.Streams is not used).
func (p *Pipeline) Replay(ctx context.Context, req Request) (Result, error) {
	source, cfg := req.Source, req.Config
	files, err := p.Meta.ListFiles(ctx, zone.LandingDataset(source))
	if err != nil {
		return Result{}, fmt.Errorf("failed to list landing payloads of %s: %w", source, err)
	}
	if len(files) == 0 {
		return Result{}, fmt.Errorf("nothing to replay: landing holds no payloads of %s", source)
	}
	tmp, err := os.MkdirTemp("", "bedrot-replay-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(tmp)
	set := &replaySet{byName: map[string]replayItem{}, hashes: map[string]*digest.Hash{}}
	var paths []string
	for i, f := range files {
		var m struct {
			Name string `json:"name"`
		}
		_ = json.Unmarshal(f.Meta, &m)
		if m.Name == "" {
			m.Name = filepath.Base(f.Key)
		}
		// Two payloads may share a name once it is made safe for a key.
		name := zone.PayloadName(m.Name)
		if _, dup := set.byName[name]; dup {
			name = zone.PayloadName(strconv.Itoa(i) + "-" + m.Name)
		}
		dir := filepath.Join(tmp, strconv.Itoa(i))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return Result{}, err
		}
		local := filepath.Join(dir, name)
		if err := download(ctx, p, f.Key, local); err != nil {
			return Result{}, fmt.Errorf("failed to fetch %s for replay: %w", f.Key, err)
		}
		set.byName[filepath.Base(local)] = replayItem{key: f.Key, sum: f.Digest, size: f.Size}
		paths = append(paths, local)
	}
	rc := sdk.Config{}
	for k, v := range cfg {
		rc[k] = v
	}
	delete(rc, "inbox")
	rc[FilesParam] = strings.Join(paths, string(os.PathListSeparator))
	return p.run(ctx, Request{Source: source, Plugin: req.Plugin, Config: rc}, "replay", set)
}

func download(ctx context.Context, p *Pipeline, key, local string) error {
	obj, err := p.Store.Open(ctx, key)
	if err != nil {
		return err
	}
	defer obj.Close()
	f, err := os.Create(local)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, obj); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
