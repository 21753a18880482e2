package lineage

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/bedrot-label/bedrot/host/metastore"
)

// DefaultNamespace is the job namespace unless Config says otherwise.
const DefaultNamespace = "bedrot"

// Integration is the jobType facet's integration.
const Integration = "BEDROT"

// JobKind is what a job does; with a name it makes the job's name.
type JobKind string

// Job kinds and the job names they make.
const (
	JobIngest       JobKind = "ingest"        // ingest.<source>
	JobReplay       JobKind = "replay"        // replay.<source>
	JobBuildStaging JobKind = "build.staging" // build.staging, or build.staging.<dataset>
	JobBuildMart    JobKind = "build.mart"    // build.mart.<mart>
	JobPublish      JobKind = "publish"       // publish.<mart>
	JobValidate     JobKind = "validate"      // validate.<dataset>
)

// jobTypes maps kinds to the jobType facet's jobType.
var jobTypes = map[JobKind]string{
	JobIngest:       "INGEST",
	JobReplay:       "REPLAY",
	JobBuildStaging: "BUILD",
	JobBuildMart:    "BUILD",
	JobPublish:      "PUBLISH",
	JobValidate:     "VALIDATE",
}

// JobName is the OpenLineage job name of a kind and its subject (source,
// mart or dataset; empty for build.staging).
func JobName(kind JobKind, name string) (string, error) {
	if _, ok := jobTypes[kind]; !ok {
		return "", fmt.Errorf("unknown job kind %q: use one of ingest, replay, build.staging, build.mart, publish, validate", kind)
	}
	if kind == JobBuildStaging && name == "" {
		return string(kind), nil // a build of every staging dataset at once
	}
	if name == "" {
		return "", fmt.Errorf("job %s needs a name (the source, mart or dataset it is about)", kind)
	}
	return string(kind) + "." + name, nil
}

// runNamespace is the UUID namespace of RunUUID.
var runNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/bedrot-label/bedrot/lineage/run"))

// RunUUID is the OpenLineage runId of a BEDROT run of a job: a version 5
// UUID of the job namespace, job name and BEDROT run id.
func RunUUID(jobNamespace, jobName, runID string) string {
	return uuid.NewSHA1(runNamespace, []byte(jobNamespace+"\x00"+jobName+"\x00"+runID)).String()
}

// ProducerURI is the producer of BEDROT's events for a version (a tag, a
// commit or "dev"): https://github.com/bedrot-label/bedrot/tree/<version>.
func ProducerURI(version string) string {
	if version == "" {
		version = "main"
	}
	return "https://github.com/bedrot-label/bedrot/tree/" + version
}

// RunInfo describes one run of a job. Start uses the identity, StartedAt and
// the datasets; Finish also FinishedAt, Status and Error.
type RunInfo struct {
	// RunID is the BEDROT run id, e.g. 20261126T055012Z-9f3a1c.
	RunID string
	// Kind and Name make the job name (see JobName).
	Kind JobKind
	Name string
	// StartedAt is the START event's time; FinishedAt the COMPLETE or
	// FAIL's (now when zero).
	StartedAt  time.Time
	FinishedAt time.Time
	// Status is the metastore run status at the end: succeeded or partial
	// make a COMPLETE, failed or abandoned a FAIL. Empty means succeeded
	// unless Error is set.
	Status string
	// Error is why the run failed (the errorMessage facet of a FAIL).
	Error string
	// Inputs and Outputs are what the run read and wrote.
	Inputs  []Dataset
	Outputs []Dataset
}

// Dataset is one input or output of a run.
type Dataset struct {
	// Name is the BEDROT dataset name (raw.spotify.tracks), mapped by the
	// Namer. Leave it empty when ID is set.
	Name string
	// ID names a dataset outside the lake (SourceDataset, PostgresTable);
	// Name, if also set, is then only its label.
	ID DatasetID
	// Fields is the schema, if known (the schema facet).
	Fields []SchemaField
	// Stats is how much was read (inputs: dataQualityMetrics) or written
	// (outputs: outputStatistics); nil when unknown.
	Stats *Stats
	// Assertions are the expectations checked on an input
	// (dataQualityAssertions). Outputs cannot carry them: report the
	// validation of data a run wrote as a JobValidate run reading it.
	Assertions []AssertionResult
}

// Stats counts a dataset's rows, bytes and files; a negative count means
// unknown and is left out. An output's statistics need a known row count.
type Stats struct {
	Rows  int64
	Bytes int64
	Files int64
}

// Config configures a Builder.
type Config struct {
	// Namespace is the job namespace; DefaultNamespace when empty.
	Namespace string
	// Producer is the producer URI; ProducerURI("") when empty.
	Producer string
	// Namer maps BEDROT dataset names; required when datasets are named
	// by Name.
	Namer *Namer
}

// Builder makes run events from RunInfo.
type Builder struct {
	namespace string
	producer  string
	namer     *Namer
	now       func() time.Time
}

// NewBuilder makes a Builder.
func NewBuilder(cfg Config) *Builder {
	b := &Builder{namespace: cfg.Namespace, producer: cfg.Producer, namer: cfg.Namer, now: time.Now}
	if b.namespace == "" {
		b.namespace = DefaultNamespace
	}
	if b.producer == "" {
		b.producer = ProducerURI("")
	}
	return b
}

// Start makes the START event of a run.
func (b *Builder) Start(r RunInfo) (*RunEvent, error) {
	return b.event(EventStart, r)
}

// Finish makes the COMPLETE or FAIL event of a run, after r.Status and
// r.Error.
func (b *Builder) Finish(r RunInfo) (*RunEvent, error) {
	t, err := terminalType(r)
	if err != nil {
		return nil, err
	}
	return b.event(t, r)
}

func terminalType(r RunInfo) (EventType, error) {
	switch r.Status {
	case metastore.RunSucceeded, metastore.RunPartial:
		return EventComplete, nil
	case metastore.RunFailed, metastore.RunAbandoned:
		return EventFail, nil
	case "":
		if r.Error != "" {
			return EventFail, nil
		}
		return EventComplete, nil
	}
	return "", fmt.Errorf("run %s: status %q is not a final status: use succeeded, partial, failed or abandoned", r.RunID, r.Status)
}

func (b *Builder) event(t EventType, r RunInfo) (*RunEvent, error) {
	if r.RunID == "" {
		return nil, errors.New("run id is empty: give RunInfo the BEDROT run id")
	}
	jobName, err := JobName(r.Kind, r.Name)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", r.RunID, err)
	}
	at := r.StartedAt
	if t != EventStart {
		at = r.FinishedAt
	}
	if at.IsZero() {
		at = b.now()
	}
	ev := &RunEvent{
		EventType: t,
		EventTime: FormatTime(at),
		Producer:  b.producer,
		SchemaURL: RunEventSchemaURL,
		Run: Run{
			RunID: RunUUID(b.namespace, jobName, r.RunID),
			Facets: RunFacets{Bedrot: &BedrotRunFacet{
				BaseFacet: b.base(BedrotRunFacetURL),
				RunID:     r.RunID,
				Kind:      r.Kind,
				Name:      r.Name,
			}},
		},
		Job: Job{
			Namespace: b.namespace,
			Name:      jobName,
			Facets: JobFacets{JobType: &JobTypeFacet{
				BaseFacet:      b.base(JobTypeFacetURL),
				ProcessingType: "BATCH",
				Integration:    Integration,
				JobType:        jobTypes[r.Kind],
			}},
		},
		Inputs:  []InputDataset{},
		Outputs: []OutputDataset{},
	}
	if t != EventStart {
		ev.Run.Facets.Bedrot.Status = r.Status
		if ev.Run.Facets.Bedrot.Status == "" {
			ev.Run.Facets.Bedrot.Status = metastore.RunSucceeded
			if t == EventFail {
				ev.Run.Facets.Bedrot.Status = metastore.RunFailed
			}
		}
	}
	if t == EventFail {
		msg := r.Error
		if msg == "" {
			msg = "run " + r.Status
		}
		ev.Run.Facets.ErrorMessage = &ErrorMessageFacet{
			BaseFacet:           b.base(ErrorMessageFacetURL),
			Message:             msg,
			ProgrammingLanguage: "GO",
		}
	}
	for _, d := range r.Inputs {
		in, err := b.input(d)
		if err != nil {
			return nil, fmt.Errorf("run %s: input: %w", r.RunID, err)
		}
		ev.Inputs = append(ev.Inputs, in)
	}
	for _, d := range r.Outputs {
		out, err := b.output(d)
		if err != nil {
			return nil, fmt.Errorf("run %s: output: %w", r.RunID, err)
		}
		ev.Outputs = append(ev.Outputs, out)
	}
	return ev, nil
}

func (b *Builder) base(schemaURL string) BaseFacet {
	return BaseFacet{Producer: b.producer, SchemaURL: schemaURL}
}

// resolve gives a dataset its identity and common facets.
func (b *Builder) resolve(d Dataset) (DatasetID, DatasetFacets, error) {
	id := d.ID
	if id.IsZero() {
		if d.Name == "" {
			return id, DatasetFacets{}, errors.New("a dataset has neither a Name nor an ID")
		}
		if b.namer == nil {
			return id, DatasetFacets{}, fmt.Errorf("dataset %s: no Namer configured to place it in the lake", d.Name)
		}
		var err error
		if id, err = b.namer.Dataset(d.Name); err != nil {
			return id, DatasetFacets{}, err
		}
	} else if id.Namespace == "" || id.Name == "" {
		return id, DatasetFacets{}, fmt.Errorf("dataset %q: its ID needs both a namespace and a name", id.String())
	}
	var f DatasetFacets
	label := d.Name
	if label == "" && id.Namespace == SourceNamespace {
		label = "source." + id.Name
	}
	if label != "" {
		f.Bedrot = &BedrotDatasetFacet{BaseFacet: b.base(BedrotDatasetFacetURL), Name: label}
	}
	if len(d.Fields) > 0 {
		f.Schema = &SchemaFacet{BaseFacet: b.base(SchemaFacetURL), Fields: d.Fields}
	}
	return id, f, nil
}

func (b *Builder) input(d Dataset) (InputDataset, error) {
	id, f, err := b.resolve(d)
	if err != nil {
		return InputDataset{}, err
	}
	in := InputDataset{Namespace: id.Namespace, Name: id.Name, Facets: f}
	if s := d.Stats; s != nil {
		in.InputFacets.DataQualityMetrics = &DataQualityMetricsFacet{
			BaseFacet:     b.base(DataQualityMetricsFacetURL),
			RowCount:      known(s.Rows),
			Bytes:         known(s.Bytes),
			FileCount:     known(s.Files),
			ColumnMetrics: map[string]ColumnMetrics{},
		}
	}
	if len(d.Assertions) > 0 {
		for _, a := range d.Assertions {
			if strings.TrimSpace(a.Assertion) == "" {
				return InputDataset{}, fmt.Errorf("dataset %s: an assertion has no type (the expectation, e.g. expect_column_values_to_not_be_null)", id)
			}
		}
		in.InputFacets.DataQualityAssertions = &DataQualityAssertionsFacet{
			BaseFacet:  b.base(DataQualityAssertionsFacetURL),
			Assertions: d.Assertions,
		}
	}
	return in, nil
}

func (b *Builder) output(d Dataset) (OutputDataset, error) {
	id, f, err := b.resolve(d)
	if err != nil {
		return OutputDataset{}, err
	}
	if len(d.Assertions) > 0 {
		return OutputDataset{}, fmt.Errorf("dataset %s: assertions are input facets in OpenLineage: report the validation as a %s run that reads the dataset", id, JobValidate)
	}
	out := OutputDataset{Namespace: id.Namespace, Name: id.Name, Facets: f}
	if s := d.Stats; s != nil && s.Rows >= 0 {
		out.OutputFacets.OutputStatistics = &OutputStatisticsFacet{
			BaseFacet: b.base(OutputStatisticsFacetURL),
			RowCount:  s.Rows,
			Size:      known(s.Bytes),
			FileCount: known(s.Files),
		}
	}
	return out, nil
}

func known(n int64) *int64 {
	if n < 0 {
		return nil
	}
	return &n
}

// FormatTime formats an event time: RFC 3339, UTC, milliseconds.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
