package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/integration-hub/hub/internal/storage"
)

// expression is a condition or key condition with its placeholders. Names
// are always placeholders: the schema's attribute names may be reserved
// words ("ttl" is one).
type expression struct {
	text   string
	names  map[string]string
	values map[string]types.AttributeValue
}

// textOrNil is the expression text for an SDK input, nil when there is none.
func (e expression) textOrNil() *string {
	if e.text == "" {
		return nil
	}
	return &e.text
}

// conditionExpression is the write condition c, with expiry judged at now:
// an item whose TTL attribute has passed counts as absent even when DynamoDB
// has not deleted it yet.
func conditionExpression(s storage.Schema, c storage.Condition, now time.Time) (expression, error) {
	const (
		absent = "(attribute_not_exists(#pk) OR #ttl <= :now)"
		live   = "(attribute_exists(#pk) AND (attribute_not_exists(#ttl) OR #ttl > :now))"
	)
	e := expression{
		names:  map[string]string{"#pk": s.PK, "#ttl": s.TTL},
		values: map[string]types.AttributeValue{":now": epochSeconds(now)},
	}
	switch c.Kind {
	case storage.CondAbsent:
		e.text = absent
	case storage.CondPresent:
		e.text = live
	case storage.CondVersion:
		e.text = live + " AND #ver = :ver"
		e.names["#ver"] = storage.AttrVersion
		e.values[":ver"] = number(c.Version)
	default:
		return expression{}, fmt.Errorf("%w: unknown condition kind %d", storage.ErrInvalidWrite, c.Kind)
	}
	return e, nil
}

// keyCondition is the key condition of q on the table or index whose key
// attributes are keyAttrs. It reports false when the range is empty by
// construction (a BETWEEN whose upper bound is below its lower one), which
// DynamoDB would reject instead of answering with nothing.
func keyCondition(keyAttrs storage.Key, q storage.Query) (expression, bool, error) {
	e := expression{
		text:   "#pk = :pk",
		names:  map[string]string{"#pk": keyAttrs.PK},
		values: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: q.PK}},
	}
	sortOn := func(text string) {
		e.text += " AND " + text
		e.names["#sk"] = keyAttrs.SK
	}
	switch q.Sort {
	case storage.SortAll:
	case storage.SortPrefix:
		if q.From != "" {
			sortOn("begins_with(#sk, :from)")
			e.values[":from"] = &types.AttributeValueMemberS{Value: q.From}
		}
	case storage.SortBetween:
		switch {
		case q.To < q.From || q.To == "":
			return e, false, nil
		case q.From == "":
			sortOn("#sk <= :to")
		default:
			sortOn("#sk BETWEEN :from AND :to")
			e.values[":from"] = &types.AttributeValueMemberS{Value: q.From}
		}
		e.values[":to"] = &types.AttributeValueMemberS{Value: q.To}
	default:
		return e, false, fmt.Errorf("dynamo: query: unknown sort operator %d", q.Sort)
	}
	return e, true, nil
}

func number(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func epochSeconds(t time.Time) *types.AttributeValueMemberN {
	return number(t.Unix())
}
