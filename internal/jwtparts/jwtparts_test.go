package jwtparts_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/integration-hub/hub/internal/jwtparts"
)

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestSplitReadsTheHeaderAsGolangJWTDoes(t *testing.T) {
	payload := seg(`{"iss":"acme"}`)
	cases := []struct {
		name    string
		token   string
		alg     string
		kid     string
		wantErr error
	}{
		{"alg and kid", seg(`{"alg":"HS256","kid":"k1"}`) + "." + payload + ".c2ln", "HS256", "k1", nil},
		{"a kid that is not a string is none", seg(`{"alg":"ES256","kid":7}`) + "." + payload + ".c2ln", "ES256", "", nil},
		{"a KID in capitals is not the kid", seg(`{"alg":"ES256","KID":"k"}`) + "." + payload + ".c2ln", "ES256", "", nil},
		{"an ALG in capitals is not the alg", seg(`{"ALG":"HS256"}`) + "." + payload + ".c2ln", "", "", jwtparts.ErrUnverifiable},
		{"an alg golang-jwt does not know", seg(`{"alg":"XX1"}`) + "." + payload + ".c2ln", "", "", jwtparts.ErrUnverifiable},
		{"alg none is read (every allow-list refuses it)", seg(`{"alg":"none"}`) + "." + payload + ".", "none", "", nil},
		{"alg not a string", seg(`{"alg":1}`) + "." + payload + ".c2ln", "", "", jwtparts.ErrUnverifiable},
		{"header not an object", seg(`["alg"]`) + "." + payload + ".c2ln", "", "", jwtparts.ErrMalformed},
		{"header not base64url", "e30=." + payload + ".c2ln", "", "", jwtparts.ErrMalformed},
		{"payload not base64url", seg(`{"alg":"HS256"}`) + ".@@." + "c2ln", "", "", jwtparts.ErrMalformed},
		{"signature not base64url", seg(`{"alg":"HS256"}`) + "." + payload + ".c2ln=", "", "", jwtparts.ErrMalformed},
		{"two segments", "a.b", "", "", jwtparts.ErrMalformed},
		{"four segments", seg(`{"alg":"HS256"}`) + "." + payload + ".c2ln.x", "", "", jwtparts.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Twice: the second read comes from the header cache and
			// must say the same.
			for range 2 {
				p, err := jwtparts.Split(tc.token)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("Split = %+v, %v; want %v", p, err, tc.wantErr)
					}
					continue
				}
				if err != nil || p.Alg != tc.alg || p.KeyID != tc.kid || !bytes.Equal(p.Payload, []byte(`{"iss":"acme"}`)) {
					t.Fatalf("Split = %+v, %v; want alg %q kid %q", p, err, tc.alg, tc.kid)
				}
			}
		})
	}
}

func TestVerifyChecksTheSignatureWithEachKey(t *testing.T) {
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "u"}).SignedString([]byte("right"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := jwtparts.Split(token)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Verify([]byte("wrong"), []byte("right")); err != nil {
		t.Errorf("the second key verifies: %v", err)
	}
	if err := p.Verify([]byte("wrong")); !errors.Is(err, jwtparts.ErrSignature) {
		t.Errorf("a wrong key: %v, want ErrSignature", err)
	}
	if err := p.Verify(); !errors.Is(err, jwtparts.ErrUnverifiable) {
		t.Errorf("no key: %v, want ErrUnverifiable", err)
	}
	if err := p.Allowed([]string{"ES256"}); !errors.Is(err, jwtparts.ErrSignature) {
		t.Errorf("HS256 outside the allow-list: %v", err)
	}
	if err := p.Allowed([]string{"ES256", "HS256"}); err != nil {
		t.Errorf("HS256 in the allow-list: %v", err)
	}
}

func TestReadObjectFindsMembersByExactName(t *testing.T) {
	obj, err := jwtparts.ReadObject([]byte(` {"iss":"acme", "ISS":"other", "n":null, "xti":{"a":[1,"}"]}, "sub":"x","sub":"last", "\u0061ud":"esc"} `))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"iss": `"acme"`, "ISS": `"other"`, "xti": `{"a":[1,"}"]}`, "sub": `"last"`, "aud": `"esc"`} {
		if v, ok := obj.Get(name); !ok || string(v) != want {
			t.Errorf("Get(%q) = %s, %v; want %s", name, v, ok, want)
		}
	}
	for _, name := range []string{"n", "Iss", "exp"} {
		if v, ok := obj.Get(name); ok {
			t.Errorf("Get(%q) = %s; want absent (null or missing)", name, v)
		}
	}
	for _, bad := range []string{``, `[]`, `"s"`, `{"a":1`, `{"a":1}{}`, `{"a":1,}`, "{\"a\":\"\xff\"", `null`} {
		if obj, err := jwtparts.ReadObject([]byte(bad)); err == nil {
			t.Errorf("ReadObject(%q) = %v; want an error", bad, obj)
		}
	}
}

// FuzzReadObject: ReadObject finds what json.Unmarshal into a map of raw
// messages finds, for any input.
func FuzzReadObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":"x","a":[{"c":"}"}]}`, `{"\u00e9":true, "k\"":null}`, "{\"\xff\":1}", `[1]`, ` { "a" : { } } `, `{"a":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want map[string]json.RawMessage
		wantErr := json.Unmarshal(data, &want)
		obj, err := jwtparts.ReadObject(data)
		if wantErr != nil || want == nil {
			if err == nil {
				t.Fatalf("ReadObject(%q) = %v; json.Unmarshal: %v", data, obj, wantErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("ReadObject(%q): %v; json.Unmarshal read %v", data, err, want)
		}
		seen := map[string]bool{}
		for _, m := range obj {
			seen[m.Name] = true
		}
		if len(seen) != len(want) {
			t.Fatalf("ReadObject(%q) names %v; json.Unmarshal %v", data, obj, want)
		}
		for name, v := range want {
			got, _ := obj.Get(name)
			if string(v) == "null" {
				got = json.RawMessage("null")
			}
			if !bytes.Equal(got, v) {
				t.Fatalf("ReadObject(%q)[%q] = %s; json.Unmarshal %s", data, name, got, v)
			}
		}
	})
}

// FuzzSplit: Split reads what golang-jwt's parser reads of any token. When
// ParseUnverified reads an object payload, Split finds the same alg, kid and
// payload (the same JSON value, whitespace around it aside, or a payload
// with more after it, which every caller decodes and refuses); when Split
// reads a token golang-jwt refuses, it is only because the payload is not
// JSON, which every caller decodes and refuses.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		seg(`{"alg":"HS256","kid":"k1"}`) + "." + seg(`{"iss":"acme"}`) + ".c2ln",
		seg(`{"alg":"ES256","kid":7}`) + "." + seg(`{}`) + ".",
		seg(`{"alg":"none"}`) + "." + seg(`{"a":[1,2]}`) + ".",
		seg(`{"ALG":"HS256"}`) + "." + seg(`{}`) + ".c2ln",
		seg(`{"\u0061lg":"HS256","kid":"\u006b"}`) + "." + seg(`{}`) + ".c2ln",
		seg(`null`) + "." + seg(`{}`) + ".c2ln",
		seg(`{"alg":"HS256"}`) + "." + seg(`null`) + ".c2ln",
		seg(`{"alg":"HS256"}`) + "." + seg(`{garbage`) + ".c2ln",
		seg(`{"alg":"HS256"}`) + "." + seg(`[]`) + ".c2ln",
		"a.b.c", "a.b", "", "..",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		p, err := jwtparts.Split(token)
		var claims rawClaims
		tok, _, jwtErr := jwt.NewParser().ParseUnverified(token, &claims)
		readByJWT := jwtErr == nil && isObject(claims.raw)
		switch {
		case err != nil && readByJWT:
			t.Fatalf("Split(%q): %v; golang-jwt read it", token, err)
		case err == nil && !readByJWT && json.Valid(p.Payload):
			t.Fatalf("Split(%q) = %+v; golang-jwt: %v", token, p, jwtErr)
		case err == nil && readByJWT:
			kid, _ := tok.Header["kid"].(string)
			// golang-jwt hands the claims the payload's first JSON value
			// without the whitespace around it. Split hands the whole
			// payload, which every caller decodes with json.Unmarshal:
			// the same value, or a refusal when more than whitespace
			// follows it.
			trimmed := bytes.Trim(p.Payload, " \t\r\n")
			same := bytes.Equal(trimmed, claims.raw) || (!json.Valid(p.Payload) && bytes.HasPrefix(trimmed, claims.raw))
			if p.Alg != tok.Method.Alg() || p.KeyID != kid || !same {
				t.Fatalf("Split(%q) = alg %q kid %q payload %s; golang-jwt %q %q %s", token, p.Alg, p.KeyID, p.Payload, tok.Method.Alg(), kid, claims.raw)
			}
		}
	})
}

// rawClaims keeps a payload's JSON as golang-jwt hands it to the claims.
type rawClaims struct{ raw json.RawMessage }

func (c *rawClaims) UnmarshalJSON(b []byte) error {
	c.raw = append(json.RawMessage(nil), b...)
	return nil
}

func (rawClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (rawClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return nil, nil }
func (rawClaims) GetNotBefore() (*jwt.NumericDate, error)      { return nil, nil }
func (rawClaims) GetIssuer() (string, error)                   { return "", nil }
func (rawClaims) GetSubject() (string, error)                  { return "", nil }
func (rawClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// isObject: JSON whose first token opens an object.
func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}
