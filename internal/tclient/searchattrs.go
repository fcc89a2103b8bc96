package tclient

import (
	"context"
	"fmt"
	"maps"
	"slices"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

// EnsureSearchAttributes registers the custom search attributes in defs on the
// namespace, leaving those already present alone. It fails when an attribute
// exists with another type, since the project's queries would then break.
func EnsureSearchAttributes(ctx context.Context, cl client.Client, namespace string, defs map[string]enumspb.IndexedValueType) error {
	op := cl.OperatorService()
	have, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("tclient: list search attributes of %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		want := defs[name]
		got, ok := have.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = want
		case got != want:
			return fmt.Errorf("tclient: search attribute %s is %s on %s, want %s", name, got, namespace, want)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("tclient: add search attributes to %s: %w", namespace, err)
	}
	return nil
}
