package output

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"remedy/lua/remote"
)

// decodedRun mirrors the schema in docs/output.md, independently of the
// types that write it, so a renamed field fails here.
type decodedRun struct {
	SchemaVersion int `json:"schema_version"`
	Remedy        struct {
		Version string `json:"version"`
		Commit  string `json:"commit"`
	} `json:"remedy"`
	Operator       string    `json:"operator"`
	CommandLine    []string  `json:"command_line"`
	Inventories    []string  `json:"inventories"`
	Limit          string    `json:"limit"`
	ChangeID       string    `json:"change_id"`
	Shard          string    `json:"shard"`
	PlaybookSHA256 string    `json:"playbook_sha256"`
	Playbook       string    `json:"playbook"`
	Path           string    `json:"path"`
	Check          bool      `json:"check"`
	Diff           bool      `json:"diff"`
	Audit          bool      `json:"audit"`
	Started        time.Time `json:"started"`
	Finished       time.Time `json:"finished"`
	DurationMS     int64     `json:"duration_ms"`
	Interrupted    bool      `json:"interrupted"`
	NotRun         []string  `json:"not_run"`
	Hosts          []struct {
		Name        string        `json:"name"`
		Verdict     string        `json:"verdict"`
		Interrupted bool          `json:"interrupted"`
		Unreachable bool          `json:"unreachable"`
		Error       string        `json:"error"`
		DurationMS  int64         `json:"duration_ms"`
		Facts       *remote.Facts `json:"facts"`
		Tasks       []struct {
			Name       string   `json:"name"`
			Kind       string   `json:"kind"`
			Status     string   `json:"status"`
			State      string   `json:"state"`
			Error      bool     `json:"error"`
			Changed    bool     `json:"changed"`
			Ignored    bool     `json:"ignored"`
			Severity   string   `json:"severity"`
			Msg        string   `json:"msg"`
			Diff       string   `json:"diff"`
			Planned    []string `json:"planned"`
			DurationMS int64    `json:"duration_ms"`
		} `json:"tasks"`
		Stats map[string]int `json:"stats"`
	} `json:"hosts"`
	Totals map[string]int `json:"totals"`
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, auditRecap()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "audit.json", buf.Bytes())

	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	var doc decodedRun
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if dec.More() {
		t.Error("more than one JSON document")
	}
	if doc.SchemaVersion != 1 || doc.Remedy.Version != "v1.4.0" || doc.Remedy.Commit != "0123456789ab" || doc.Operator != "ops@controller" ||
		!slices.Equal(doc.CommandLine, provenance.CommandLine) || !slices.Equal(doc.Inventories, []string{"hosts.ini"}) ||
		doc.Limit != "web*:db*" || doc.ChangeID != "CHG-1234" || doc.PlaybookSHA256 != provenance.PlaybookSHA256 {
		t.Errorf("provenance = %+v", doc)
	}
	if doc.Playbook != "Aspera HSTS network" || !doc.Check || !doc.Diff || !doc.Audit {
		t.Errorf("header = %q check=%v diff=%v audit=%v", doc.Playbook, doc.Check, doc.Diff, doc.Audit)
	}
	if !doc.Started.Equal(started) || !doc.Finished.Equal(started.Add(11*time.Second)) || doc.DurationMS != 11000 {
		t.Errorf("times: started %v finished %v duration %d", doc.Started, doc.Finished, doc.DurationMS)
	}
	names := []string{}
	for _, h := range doc.Hosts {
		names = append(names, h.Name)
	}
	if want := []string{"db-server-long-name.example", "down1", "web1"}; !slices.Equal(names, want) {
		t.Fatalf("hosts = %v, want %v (sorted by name)", names, want)
	}
	down, web1 := doc.Hosts[1], doc.Hosts[2]
	if !down.Unreachable || down.Error == "" || down.Facts != nil || len(down.Tasks) != 1 || down.Tasks[0].Status != "unreachable" || down.Stats["unreachable"] != 1 {
		t.Errorf("down1 = %+v", down)
	}
	if web1.Facts == nil || web1.Facts.Firewall != "nftables" {
		t.Errorf("web1 facts = %+v", web1.Facts)
	}
	if web1.DurationMS != 1500 {
		t.Errorf("web1 duration_ms = %d", web1.DurationMS)
	}
	first := web1.Tasks[1]
	if first.Name != "S3 FASP UDP port is open" || first.Kind != "task" || first.Status != "changed" || !first.Changed ||
		first.Diff != nftDiff || len(first.Planned) != 2 || first.DurationMS != 120 {
		t.Errorf("web1 first task = %+v", first)
	}
	check := web1.Tasks[4]
	if check.Kind != "check" || check.Status != "failed" || check.Changed || check.Severity != "high" ||
		check.Msg != "PermitRootLogin is yes <script>alert(1)</script> | *bold* `tick`" {
		t.Errorf("web1 check = %+v", check)
	}
	if !web1.Tasks[5].Ignored {
		t.Errorf("web1 ignored failure = %+v", web1.Tasks[5])
	}
	wantWeb1 := map[string]int{"ok": 4, "changed": 2, "unreachable": 0, "failed": 1, "skipped": 1, "rescued": 0, "ignored": 1}
	if !maps.Equal(web1.Stats, wantWeb1) {
		t.Errorf("web1 stats = %v, want %v", web1.Stats, wantWeb1)
	}
	wantTotals := map[string]int{"ok": 9, "changed": 2, "unreachable": 1, "failed": 1, "skipped": 2, "rescued": 0, "ignored": 1}
	if !maps.Equal(doc.Totals, wantTotals) {
		t.Errorf("totals = %v, want %v", doc.Totals, wantTotals)
	}
}

func TestJSONEmptyRunHasLists(t *testing.T) {
	var buf bytes.Buffer
	r := auditRecap()
	r.Hosts = nil
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc["hosts"].([]any); !ok {
		t.Errorf("hosts = %v, want an empty list, not null", doc["hosts"])
	}
	if _, ok := doc["not_run"].([]any); !ok {
		t.Errorf("not_run = %v, want an empty list, not null", doc["not_run"])
	}
}
