package lineage

// Schema URLs: the spec version of the events and the $id (plus JSON
// pointer) of every facet schema this package emits. They are the files
// package lineagetest vendors and validates against.
const (
	// RunEventSchemaURL is the schemaURL of every event.
	RunEventSchemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

	SchemaFacetURL                = "https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	DataQualityAssertionsFacetURL = "https://openlineage.io/spec/facets/1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet"
	DataQualityMetricsFacetURL    = "https://openlineage.io/spec/facets/1-0-2/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet"
	OutputStatisticsFacetURL      = "https://openlineage.io/spec/facets/1-0-0/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
	JobTypeFacetURL               = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
	ErrorMessageFacetURL          = "https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"

	// BedrotRunFacetURL and BedrotDatasetFacetURL are BEDROT's own facets;
	// their schemas are the files in this package's facets folder.
	BedrotRunFacetURL     = "https://raw.githubusercontent.com/bedrot-label/bedrot/main/host/lineage/facets/BedrotRunFacet.json#/$defs/BedrotRunFacet"
	BedrotDatasetFacetURL = "https://raw.githubusercontent.com/bedrot-label/bedrot/main/host/lineage/facets/BedrotDatasetFacet.json#/$defs/BedrotDatasetFacet"
)

// EventType is a run's state transition.
type EventType string

// The event types BEDROT emits: one START and one COMPLETE or FAIL per run.
const (
	EventStart    EventType = "START"
	EventComplete EventType = "COMPLETE"
	EventFail     EventType = "FAIL"
)

// RunEvent is an OpenLineage run event as it is serialised.
type RunEvent struct {
	EventType EventType `json:"eventType"`
	// EventTime is RFC 3339 in UTC with milliseconds.
	EventTime string          `json:"eventTime"`
	Producer  string          `json:"producer"`
	SchemaURL string          `json:"schemaURL"`
	Run       Run             `json:"run"`
	Job       Job             `json:"job"`
	Inputs    []InputDataset  `json:"inputs"`
	Outputs   []OutputDataset `json:"outputs"`
}

// Run identifies the run of an event.
type Run struct {
	RunID  string    `json:"runId"`
	Facets RunFacets `json:"facets,omitzero"`
}

// RunFacets are the run facets BEDROT emits.
type RunFacets struct {
	Bedrot       *BedrotRunFacet    `json:"bedrot_run,omitempty"`
	ErrorMessage *ErrorMessageFacet `json:"errorMessage,omitempty"`
}

// Job identifies the job of an event.
type Job struct {
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Facets    JobFacets `json:"facets,omitzero"`
}

// JobFacets are the job facets BEDROT emits.
type JobFacets struct {
	JobType *JobTypeFacet `json:"jobType,omitempty"`
}

// DatasetFacets are the facets of an input or output dataset.
type DatasetFacets struct {
	Schema *SchemaFacet        `json:"schema,omitempty"`
	Bedrot *BedrotDatasetFacet `json:"bedrot_dataset,omitempty"`
}

// InputDataset is a dataset a run read.
type InputDataset struct {
	Namespace   string             `json:"namespace"`
	Name        string             `json:"name"`
	Facets      DatasetFacets      `json:"facets,omitzero"`
	InputFacets InputDatasetFacets `json:"inputFacets,omitzero"`
}

// InputDatasetFacets are the facets only inputs carry.
type InputDatasetFacets struct {
	DataQualityMetrics    *DataQualityMetricsFacet    `json:"dataQualityMetrics,omitempty"`
	DataQualityAssertions *DataQualityAssertionsFacet `json:"dataQualityAssertions,omitempty"`
}

// OutputDataset is a dataset a run wrote.
type OutputDataset struct {
	Namespace    string              `json:"namespace"`
	Name         string              `json:"name"`
	Facets       DatasetFacets       `json:"facets,omitzero"`
	OutputFacets OutputDatasetFacets `json:"outputFacets,omitzero"`
}

// OutputDatasetFacets are the facets only outputs carry.
type OutputDatasetFacets struct {
	OutputStatistics *OutputStatisticsFacet `json:"outputStatistics,omitempty"`
}

// BaseFacet is what every facet carries.
type BaseFacet struct {
	Producer  string `json:"_producer"`
	SchemaURL string `json:"_schemaURL"`
}

// SchemaFacet lists a dataset's columns.
type SchemaFacet struct {
	BaseFacet
	Fields []SchemaField `json:"fields"`
}

// SchemaField is one column: its name and type (Parquet or SQL type name).
type SchemaField struct {
	Name        string `json:"name"`
	Type        string `json:"type,omitempty"`
	Description string `json:"description,omitempty"`
}

// DataQualityMetricsFacet measures an input. ColumnMetrics is always
// present (the schema requires it), empty when no column was measured.
type DataQualityMetricsFacet struct {
	BaseFacet
	RowCount      *int64                   `json:"rowCount,omitempty"`
	Bytes         *int64                   `json:"bytes,omitempty"`
	FileCount     *int64                   `json:"fileCount,omitempty"`
	ColumnMetrics map[string]ColumnMetrics `json:"columnMetrics"`
}

// ColumnMetrics measures one column.
type ColumnMetrics struct {
	NullCount     *int64 `json:"nullCount,omitempty"`
	DistinctCount *int64 `json:"distinctCount,omitempty"`
}

// DataQualityAssertionsFacet lists the expectations checked on an input.
type DataQualityAssertionsFacet struct {
	BaseFacet
	Assertions []AssertionResult `json:"assertions"`
}

// AssertionResult is one expectation's outcome.
type AssertionResult struct {
	Assertion string `json:"assertion"`
	Success   bool   `json:"success"`
	Column    string `json:"column,omitempty"`
}

// OutputStatisticsFacet says how much a run wrote.
type OutputStatisticsFacet struct {
	BaseFacet
	RowCount  int64  `json:"rowCount"`
	Size      *int64 `json:"size,omitempty"`
	FileCount *int64 `json:"fileCount,omitempty"`
}

// JobTypeFacet classifies a job.
type JobTypeFacet struct {
	BaseFacet
	ProcessingType string `json:"processingType"`
	Integration    string `json:"integration"`
	JobType        string `json:"jobType"`
}

// ErrorMessageFacet says why a run failed.
type ErrorMessageFacet struct {
	BaseFacet
	Message             string `json:"message"`
	ProgrammingLanguage string `json:"programmingLanguage"`
}

// BedrotRunFacet links an event to BEDROT's run history.
type BedrotRunFacet struct {
	BaseFacet
	// RunID is the BEDROT run id (`bedrot runs`).
	RunID string `json:"runId"`
	// Kind is the job kind (ingest, replay, build.staging, ...).
	Kind JobKind `json:"kind"`
	// Name is the source, mart or dataset the job is about, if any.
	Name string `json:"name,omitempty"`
	// Status is the BEDROT run status on a COMPLETE or FAIL (succeeded,
	// partial, failed, abandoned).
	Status string `json:"status,omitempty"`
}

// BedrotDatasetFacet gives a dataset its BEDROT name.
type BedrotDatasetFacet struct {
	BaseFacet
	// Name is the metastore dataset name, e.g. raw.spotify.tracks, or
	// source.<name> for a source connector.
	Name string `json:"name"`
}
