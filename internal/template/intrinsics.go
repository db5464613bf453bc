package template

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// intrinsicArity is how many arguments each CloudFormation intrinsic
// function takes as a list (CloudFormation refuses the template
// otherwise). !Sub and !GetAtt also take one scalar; !Ref, !Base64 and
// !ImportValue take one value and are not lists.
var intrinsicArity = map[string][]int{
	"Split":     {2},
	"Select":    {2},
	"Join":      {2},
	"Sub":       {2},
	"GetAtt":    {2},
	"Equals":    {2},
	"If":        {3},
	"FindInMap": {3, 4},
	"Cidr":      {3},
}

// scalarForm are the intrinsics that may also take a single scalar.
var scalarForm = map[string]bool{"Sub": true, "GetAtt": true}

// checkIntrinsics reports the first intrinsic function of the document,
// in its short form (!Split) or its long one (Fn::Split), whose arguments
// CloudFormation would refuse: a list of the wrong length, or a scalar
// where a list is needed. Nothing local evaluates them, so without this a
// malformed one would first fail at deploy time.
func checkIntrinsics(n *yaml.Node) error {
	check := func(name string, args *yaml.Node) error {
		arities, known := intrinsicArity[name]
		if !known {
			return nil
		}
		if args.Kind == yaml.ScalarNode && scalarForm[name] {
			return nil
		}
		if args.Kind != yaml.SequenceNode {
			return fmt.Errorf("template: line %d: Fn::%s takes a list of %v arguments", args.Line, name, arities)
		}
		for _, a := range arities {
			if len(args.Content) == a {
				return nil
			}
		}
		return fmt.Errorf("template: line %d: Fn::%s takes %v arguments, not %d", args.Line, name, arities, len(args.Content))
	}
	// A short-form intrinsic is a local tag ("!Split"); YAML's own are "!!str" and the like.
	if name, ok := strings.CutPrefix(n.Tag, "!"); ok && !strings.HasPrefix(name, "!") {
		if err := check(name, n); err != nil {
			return err
		}
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if name, ok := strings.CutPrefix(n.Content[i].Value, "Fn::"); ok {
				if err := check(name, n.Content[i+1]); err != nil {
					return err
				}
			}
		}
	}
	for _, c := range n.Content {
		if err := checkIntrinsics(c); err != nil {
			return err
		}
	}
	return nil
}
