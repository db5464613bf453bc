package sourcecontrol_test

import (
	"bytes"
	"fmt"

	"github.com/integration-hub/hub/internal/keys"
	"github.com/integration-hub/hub/internal/secrets"
	"github.com/integration-hub/hub/internal/sourcecontrol"
)

func Example_keys() {
	fmt.Println(keys.SourceConnection("o1", ""))
	fmt.Println(keys.SourceConnection("o1", "p1"))
	fmt.Println(keys.OAuthState("9f86d081884c7d65"))
	// Output:
	// ORG#o1 / SOURCE#org
	// ORG#o1 / SOURCE#P#p1
	// OAUTHSTATE#9f86d081884c7d65 / STATE
}

func ExampleFromEnv() {
	env := map[string]string{
		"HUB_OAUTH_GITHUB_CLIENT_ID":           "Iv1.0123456789abcdef",
		"HUB_OAUTH_GITHUB_CLIENT_SECRET":       "not-a-real-secret",
		"HUB_OAUTH_AZURE_DEVOPS_CLIENT_ID":     "00000000-0000-0000-0000-000000000000",
		"HUB_OAUTH_AZURE_DEVOPS_CLIENT_SECRET": "not-a-real-secret",
	}
	cfg, err := sourcecontrol.FromEnv(func(name string) string { return env[name] })
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, id := range []sourcecontrol.ProviderID{sourcecontrol.GitHub, sourcecontrol.GitLab, sourcecontrol.Bitbucket, sourcecontrol.AzureDevOps} {
		pc, configured := cfg.Providers[id]
		if !configured {
			fmt.Println(id, "not configured")
			continue
		}
		fmt.Println(id, pc.TokenURL)
	}
	// Output:
	// github https://github.com/login/oauth/access_token
	// gitlab not configured
	// bitbucket not configured
	// azure_devops https://login.microsoftonline.com/organizations/oauth2/v2.0/token
}

func ExampleService_Landing() {
	keyring, _ := secrets.NewKeyring(bytes.Repeat([]byte{1}, 32))
	svc := sourcecontrol.New(nil, keyring, "https://hub.example.com/", sourcecontrol.Config{}, nil)
	fmt.Println(svc.Landing(sourcecontrol.GitLab, ""))
	fmt.Println(svc.Landing(sourcecontrol.GitLab, sourcecontrol.CodeAccessDenied))
	// Output:
	// https://hub.example.com/settings/source-control?connected=gitlab
	// https://hub.example.com/settings/source-control?error=access_denied
}
