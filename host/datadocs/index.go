package datadocs

// entryView is one row of the index table.
type entryView struct {
	IndexEntry
	Started      timeView
	RowsText     string
	ScoreText    string
	Verdict      string
	VerdictClass string
}

// indexView is what the index template renders.
type indexView struct {
	Title string
	// Dataset is set when every entry is of the same dataset.
	Dataset string
	Entries []entryView
	Passed  int
	Failed  int
}

func newIndexView(entries []IndexEntry) indexView {
	v := indexView{Title: "Validations — Data Docs"}
	for i, e := range entries {
		ev := entryView{IndexEntry: e, Started: newTime(e.StartedAt), RowsText: formatCount(e.Rows), ScoreText: formatScore(e.Score)}
		ev.Verdict, ev.VerdictClass = verdict(e.Success)
		if e.Success {
			v.Passed++
		} else {
			v.Failed++
		}
		v.Entries = append(v.Entries, ev)
		switch {
		case i == 0:
			v.Dataset = e.Dataset
		case e.Dataset != v.Dataset:
			v.Dataset = ""
		}
	}
	if v.Dataset != "" {
		v.Title = "Validations of " + v.Dataset + " — Data Docs"
	}
	return v
}
