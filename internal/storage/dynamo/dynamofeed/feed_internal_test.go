package dynamofeed

import (
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	streamtypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

func TestEventAttribute(t *testing.T) {
	tests := []struct {
		name string
		in   streamtypes.AttributeValue
		want events.DynamoDBAttributeValue
	}{
		{"string", &streamtypes.AttributeValueMemberS{Value: "a"}, events.NewStringAttribute("a")},
		{"number", &streamtypes.AttributeValueMemberN{Value: "1.5"}, events.NewNumberAttribute("1.5")},
		{"binary", &streamtypes.AttributeValueMemberB{Value: []byte{1, 2}}, events.NewBinaryAttribute([]byte{1, 2})},
		{"bool", &streamtypes.AttributeValueMemberBOOL{Value: true}, events.NewBooleanAttribute(true)},
		{"null", &streamtypes.AttributeValueMemberNULL{Value: true}, events.NewNullAttribute()},
		{"string set", &streamtypes.AttributeValueMemberSS{Value: []string{"a", "b"}}, events.NewStringSetAttribute([]string{"a", "b"})},
		{"number set", &streamtypes.AttributeValueMemberNS{Value: []string{"1", "2"}}, events.NewNumberSetAttribute([]string{"1", "2"})},
		{"binary set", &streamtypes.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}}, events.NewBinarySetAttribute([][]byte{{1}, {2}})},
		{"empty map", &streamtypes.AttributeValueMemberM{Value: map[string]streamtypes.AttributeValue{}}, events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{})},
		{
			"nested",
			&streamtypes.AttributeValueMemberM{Value: map[string]streamtypes.AttributeValue{
				"list": &streamtypes.AttributeValueMemberL{Value: []streamtypes.AttributeValue{
					&streamtypes.AttributeValueMemberS{Value: "x"},
					&streamtypes.AttributeValueMemberM{Value: map[string]streamtypes.AttributeValue{"n": &streamtypes.AttributeValueMemberN{Value: "3"}}},
				}},
			}},
			events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{
				"list": events.NewListAttribute([]events.DynamoDBAttributeValue{
					events.NewStringAttribute("x"),
					events.NewMapAttribute(map[string]events.DynamoDBAttributeValue{"n": events.NewNumberAttribute("3")}),
				}),
			}),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := eventAttribute(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("eventAttribute = %#v, want %#v", got, tc.want)
			}
			// The Lambda event's JSON is what the notifier decodes.
			gotJSON, _ := got.MarshalJSON()
			wantJSON, _ := tc.want.MarshalJSON()
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("JSON %s, want %s", gotJSON, wantJSON)
			}
		})
	}
	if _, err := eventAttribute(&streamtypes.UnknownUnionMember{Tag: "X"}); err == nil {
		t.Error("an unknown attribute type converted without an error")
	}
}
