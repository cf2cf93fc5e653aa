package output

import (
	"reflect"
	"strings"
	"testing"

	"remedy/runner/recap"
)

// TestModelCarriesNoVariables: renderers never print a host's variables
// (they hold become passwords and vault values) because the model they
// render cannot hold them. This walks every type reachable from what the
// observers receive and fails if a field could carry variables, a password
// or a command's stdin.
func TestModelCarriesNoVariables(t *testing.T) {
	banned := []string{"var", "password", "secret", "stdin", "become"}
	seen := map[reflect.Type]bool{}
	var walk func(path string, typ reflect.Type)
	walk = func(path string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Array {
			typ = typ.Elem()
		}
		if typ.Kind() == reflect.Map || typ.Kind() == reflect.Interface && typ.NumMethod() == 0 {
			t.Errorf("%s is a %s: it could carry variables", path, typ)
			return
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			for _, word := range banned {
				if strings.Contains(strings.ToLower(f.Name), word) {
					t.Errorf("%s.%s: a field named like %q must not reach an output", path, f.Name, word)
				}
			}
			walk(path+"."+f.Name, f.Type)
		}
	}
	for _, v := range []any{recap.Play{}, recap.Command{}, recap.HostReport{}, recap.Recap{}} {
		walk(reflect.TypeOf(v).Name(), reflect.TypeOf(v))
	}
	if len(seen) < 6 {
		t.Errorf("walked only %d types: the walk is broken", len(seen))
	}
}
