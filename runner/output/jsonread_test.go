package output

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"remedy/runner/recap"
)

// ReadJSON gives back the recap WriteJSON wrote: written again, the
// document says the same (byte for byte, but where bytes that were not
// UTF-8 became U+FFFD: the first document escapes it, the second not).
func TestReadJSONRoundTrip(t *testing.T) {
	for name, r := range map[string]recap.Recap{"audit": auditRecap(), "run": runRecap(), "hostile": hostileRecap(), "states": statesRecap()} {
		doc := mustJSON(t, r)
		back, err := ReadJSON(bytes.NewReader(doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if again := mustJSON(t, back); !sameJSON(t, again, doc) {
			t.Errorf("%s: written again, the document differs:\n%s\nwant\n%s", name, again, doc)
		}
		if ExitCode(back) != ExitCode(r) {
			t.Errorf("%s: exit code %d after reading back, want %d", name, ExitCode(back), ExitCode(r))
		}
	}
}

func TestReadJSONRefuses(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"schema_version": 2, "hosts": []}`, "schema_version 2: this remedy reads version 1"},
		{`{"hosts": []}`, "no schema_version"},
		{`PLAY RECAP`, "not a remedy -o json document"},
		{`{"schema_version": 1, "hosts": [{"name": "h1"}, {"name": "h1"}]}`, "host h1 is listed twice"},
		{`{"schema_version": 1, "hosts": [{"name": ""}]}`, "a host without a name"},
	} {
		_, err := ReadJSON(strings.NewReader(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadJSON(%s) = %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func mustJSON(t *testing.T, r recap.Recap) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// Every field WriteJSON writes is read back by ReadJSON or derived again
// from what is: a field added to the document and forgotten here would be
// lost by remedy report merge, so the merged document would no longer be
// the unsharded run's. Add the new field to recapOf, then here.
func TestReadJSONKnowsEveryField(t *testing.T) {
	known := map[string][]string{
		"jsonRun": {"SchemaVersion", "Remedy", "Operator", "CommandLine", "Inventories", "Limit", "ChangeID", "Shard",
			"Playbook", "Path", "PlaybookSHA256", "Check", "Diff", "Audit", "Started", "Finished", "Interrupted", "Hosts", "NotRun",
			"DurationMS", "Totals"}, // derived: Finished - Started, and the sum of the hosts' stats
		"jsonHost": {"Name", "Unreachable", "Error", "Interrupted", "DurationMS", "Facts", "Tasks", "Stats",
			"Verdict"}, // derived from the rest

		"jsonResult": {"Name", "Kind", "Status", "Ignored", "Severity", "Msg", "Diff", "Planned", "DurationMS", "Error",
			"Changed", "State"}, // derived from Status (and Error)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[jsonRun](), reflect.TypeFor[jsonHost](), reflect.TypeFor[jsonResult]()} {
		for i := range typ.NumField() {
			if name := typ.Field(i).Name; !slices.Contains(known[typ.Name()], name) {
				t.Errorf("%s.%s is written by WriteJSON and not read back by ReadJSON (jsonread.go)", typ.Name(), name)
			}
		}
	}
}
