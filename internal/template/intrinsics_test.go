package template

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestCheckIntrinsicsRefusesWhatCloudFormationRefuses(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // "" when the document is accepted
	}{
		{"split of two", `a: !Split ["/", !Ref P]`, ""},
		{"split with a third argument", `a: !Select [1, !Split ["/", !Ref P, 2]]`, "Fn::Split takes [2] arguments, not 3"},
		{"select of a scalar", `a: !Select "1"`, "Fn::Select takes a list"},
		{"long form", "a:\n  Fn::Join: [\",\"]\n", "Fn::Join takes [2] arguments, not 1"},
		{"sub of a scalar", `a: !Sub "arn:${AWS::Partition}:ssm:::parameter${P}"`, ""},
		{"sub with variables", `a: !Sub ["${x}", {x: !Ref P}]`, ""},
		{"getatt of a scalar", `a: !GetAtt Table.Arn`, ""},
		{"if of three", `a: !If [C, x, y]`, ""},
		{"if of two", `a: !If [C, x]`, "Fn::If takes [3] arguments, not 2"},
		{"nested deep", "r:\n  p:\n    - q: !Split [\"/\"]\n", "line 3: Fn::Split"},
		{"a ref and plain values", "a: !Ref P\nb: [1, 2, 3]\nc: \"!Split\"\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(tt.yaml), &root); err != nil {
				t.Fatal(err)
			}
			err := checkIntrinsics(root.Content[0])
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
