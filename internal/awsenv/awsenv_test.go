package awsenv_test

import (
	"context"
	"strings"
	"testing"

	"github.com/integration-hub/hub/internal/awsenv"
)

func TestIsEmulator(t *testing.T) {
	tests := []struct {
		endpoint string
		want     bool
	}{
		{"", false},
		{"http://127.0.0.1:8000", true},
		{"http://localhost:8000", true},
		{"https://[::1]:8000", true},
		{"http://dynamodb-local:8000", true},
		{"https://dynamodb.eu-west-1.amazonaws.com", false},
	}
	for _, tc := range tests {
		got, err := awsenv.IsEmulator(tc.endpoint)
		if err != nil || got != tc.want {
			t.Errorf("IsEmulator(%q) = %v, %v; want %v", tc.endpoint, got, err, tc.want)
		}
	}
	if _, err := awsenv.IsEmulator("127.0.0.1:8000"); err == nil {
		t.Error("an endpoint without a scheme was accepted")
	}
}

func TestConfigTakesLambdasRegionAndRoleCredentialsAndTheEmulatorsFixedPair(t *testing.T) {
	lambda := map[string]string{
		"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ASIAROLE", "AWS_SECRET_ACCESS_KEY": "s3cret", "AWS_SESSION_TOKEN": "tok",
	}
	tests := []struct {
		name       string
		env        map[string]string
		endpoint   string
		wantRegion string
		wantKey    string
		wantToken  string
		wantErr    string
	}{
		{"lambda", lambda, "", "eu-west-1", "ASIAROLE", "tok", ""},
		{"a real endpoint keeps the role", lambda, "https://dynamodb.eu-west-1.amazonaws.com", "eu-west-1", "ASIAROLE", "tok", ""},
		{"an emulator gets the fixed pair", lambda, "http://127.0.0.1:8000", awsenv.EmulatorRegion, awsenv.EmulatorAccessKey, "", ""},
		{"AWS_DEFAULT_REGION when AWS_REGION is unset", map[string]string{"AWS_DEFAULT_REGION": "us-west-2", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"}, "", "us-west-2", "AKID", "", ""},
		{"no region", map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"}, "", "", "", "", "AWS_REGION"},
		{"no credentials", map[string]string{"AWS_REGION": "eu-west-1"}, "", "", "", "", "AWS_ACCESS_KEY_ID"},
		{"a malformed endpoint", lambda, "127.0.0.1:8000", "", "", "", "not an absolute URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := awsenv.Config(func(k string) string { return tc.env[k] }, tc.endpoint)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			creds, err := cfg.Credentials.Retrieve(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Region != tc.wantRegion || creds.AccessKeyID != tc.wantKey || creds.SessionToken != tc.wantToken {
				t.Fatalf("region %q key %q token %q; want %q %q %q", cfg.Region, creds.AccessKeyID, creds.SessionToken, tc.wantRegion, tc.wantKey, tc.wantToken)
			}
		})
	}
}
