package template_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/storage"
	"github.com/integration-hub/hub/internal/template"
)

func TestLoadReadsTheTableSchemaFromTemplateYAML(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := tm.Table.Schema
	if s.PK != "PK" || s.SK != "SK" || s.TTL != "ttl" {
		t.Fatalf("schema = %+v", s)
	}
	if got := s.Indexes["GSI1"]; got != (storage.Key{PK: "GSI1PK", SK: "GSI1SK"}) {
		t.Fatalf("GSI1 = %+v", got)
	}
	if tm.Table.StreamView != "NEW_IMAGE" {
		t.Fatalf("stream view = %q, the notifier needs new images", tm.Table.StreamView)
	}
	if tm.Table.EventFilter == "" {
		t.Fatal("the notifier's stream trigger has no event filter")
	}
}

func TestParseRejectsTemplatesTheHubCannotUse(t *testing.T) {
	cases := map[string]string{
		"no table": "Resources: {}\n",
		"keys-only index projection": `Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: PK, KeyType: HASH}, {AttributeName: SK, KeyType: RANGE}]
      GlobalSecondaryIndexes:
        - IndexName: G
          KeySchema: [{AttributeName: A, KeyType: HASH}, {AttributeName: B, KeyType: RANGE}]
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}
`,
		"function outside functions/": `Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: PK, KeyType: HASH}, {AttributeName: SK, KeyType: RANGE}]
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}
  F:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/f}
`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := template.Parse([]byte(doc)); err == nil {
				t.Fatal("parsed without error")
			}
		})
	}
}

const authorizersTemplate = `Resources:
  T:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: PK, KeyType: HASH}, {AttributeName: SK, KeyType: RANGE}]
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: true}
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Sessions
        Authorizers:
          Sessions:
            FunctionArn: !GetAtt AuthFn.Arn
            Identity: {Headers: [Authorization], ReauthorizeEvery: 60}
          Keys:
            FunctionArn: !GetAtt AuthFn.Arn
            Identity: {ReauthorizeEvery: 0}
          Page:
            FunctionArn: !GetAtt AuthFn.Arn
            Identity: {QueryStrings: [tenant], ReauthorizeEvery: 0}
  F:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/f
      Events:
        Default: {Type: HttpApi, Properties: {Method: get, Path: /a}}
        Named: {Type: HttpApi, Properties: {Method: GET, Path: /v2/b, Auth: {Authorizer: Keys}}}
        Public: {Type: HttpApi, Properties: {Method: POST, Path: /login, Auth: {Authorizer: NONE}}}
        Page: {Type: HttpApi, Properties: {Method: GET, Path: /page, Auth: {Authorizer: Page}}}
`

func TestParseGivesEachRouteItsAuthorizerAndEachAuthorizerItsIdentity(t *testing.T) {
	tm, err := template.Parse([]byte(authorizersTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if tm.DefaultAuthorizer != "Sessions" || tm.Authorizer != "AuthFn" || tm.AuthorizerCacheSeconds != 60 {
		t.Fatalf("default authorizer %q of %q cached %ds", tm.DefaultAuthorizer, tm.Authorizer, tm.AuthorizerCacheSeconds)
	}
	routes := tm.Routes()
	cases := []struct {
		route, authorizer string
		public            bool
		headers, queries  []string
	}{
		{"GET /a", "Sessions", false, []string{"Authorization"}, nil},
		{"GET /v2/b", "Keys", false, nil, nil},
		{"GET /page", "Page", false, nil, []string{"tenant"}},
		{"POST /login", "", true, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.route, func(t *testing.T) {
			r, ok := routes[tc.route]
			if !ok {
				t.Fatalf("route %s not parsed; routes %v", tc.route, routes)
			}
			if r.Authorizer != tc.authorizer || r.Public != tc.public {
				t.Fatalf("route %+v, want authorizer %q public %v", r, tc.authorizer, tc.public)
			}
			a := tm.Authorizers[tc.authorizer]
			if !slices.Equal(a.IdentityHeaders, tc.headers) || !slices.Equal(a.IdentityQueryStrings, tc.queries) {
				t.Fatalf("identity of %q = %v %v, want %v %v", tc.authorizer, a.IdentityHeaders, a.IdentityQueryStrings, tc.headers, tc.queries)
			}
		})
	}
}

func TestParseRejectsAuthorizersAPIGatewayWouldRefuse(t *testing.T) {
	cases := map[string][2]string{
		"cached without an identity source":                    {"Identity: {ReauthorizeEvery: 0}", "Identity: {ReauthorizeEvery: 30}"},
		"no identity and so API Gateway's default 300 s cache": {"Identity: {ReauthorizeEvery: 0}", "EnableSimpleResponses: true"},
		"a TTL property SAM does not read":                     {"Identity: {ReauthorizeEvery: 0}", "AuthorizerResultTtlInSeconds: 0"},
		"an identity property SAM does not read":               {"Identity: {QueryStrings: [tenant], ReauthorizeEvery: 0}", "Identity: {QueryStrings: [tenant], Ttl: 0}"},
		"route naming an unknown authorizer":                   {"Auth: {Authorizer: Keys}", "Auth: {Authorizer: Missing}"},
		"unknown default authorizer":                           {"DefaultAuthorizer: Sessions", "DefaultAuthorizer: Missing"},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(authorizersTemplate, edit[0], edit[1], 1)
			if doc == authorizersTemplate {
				t.Fatalf("the edit %q does not apply", edit[0])
			}
			if _, err := template.Parse([]byte(doc)); err == nil {
				t.Fatal("parsed without error")
			}
		})
	}
}

// The public API takes API keys in X-API-KEY as well as in Authorization,
// so its routes need an authorizer without an identity source (API Gateway
// would answer 401 before calling one whose header is missing), and such an
// authorizer cannot be cached.
func TestThePublicAPIRoutesUseTheAuthorizerWithoutIdentitySource(t *testing.T) {
	tm, err := template.Load()
	if err != nil {
		t.Fatal(err)
	}
	var public int
	for key, r := range tm.Routes() {
		_, path, _ := strings.Cut(key, " ")
		if !strings.HasPrefix(path, "/v2/") {
			continue
		}
		public++
		a, ok := tm.Authorizers[r.Authorizer]
		if !ok || len(a.IdentityHeaders)+len(a.IdentityQueryStrings) != 0 || a.CacheSeconds != 0 || a.Function != tm.Authorizer {
			t.Errorf("%s uses authorizer %q (%+v); want one of %s without identity source nor cache", key, r.Authorizer, a, tm.Authorizer)
		}
	}
	if public == 0 {
		t.Fatal("the template has no /v2 route")
	}
}
