// Package awsenv is the AWS SDK configuration of the hub's clients
// (DynamoDB, SES, SSM), read from a Lambda function's environment: the
// region from AWS_REGION and the execution role's credentials from
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which
// Lambda sets for the life of the execution environment.
//
// It stands in for the SDK's config.LoadDefaultConfig, whose shared-file,
// SSO, STS and sign-in providers a function never uses but initialised at
// every cold start (BenchmarkColdStart).
package awsenv

import (
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region and credentials every client of an emulator uses. DynamoDB Local
// keeps a separate set of tables per access key and region, so all of them
// must use the same pair; the SES emulator checks no credentials.
const (
	EmulatorRegion    = "us-east-1"
	EmulatorAccessKey = "local"
	EmulatorSecretKey = "local"
)

// Config returns the configuration of a client for endpoint. With an empty
// endpoint, or a real one, it is the environment's region and credentials;
// an emulator's endpoint (IsEmulator) gets the fixed emulator pair.
// getenv is os.Getenv.
func Config(getenv func(string) string, endpoint string) (aws.Config, error) {
	local, err := IsEmulator(endpoint)
	if err != nil {
		return aws.Config{}, err
	}
	if local {
		return aws.Config{
			Region:      EmulatorRegion,
			Credentials: credentials.NewStaticCredentialsProvider(EmulatorAccessKey, EmulatorSecretKey, ""),
		}, nil
	}
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return aws.Config{}, errors.New("awsenv: no region: set AWS_REGION (Lambda sets it)")
	}
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, errors.New("awsenv: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (Lambda sets them from the execution role)")
	}
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, getenv("AWS_SESSION_TOKEN")),
	}, nil
}

// IsEmulator reports whether endpoint is a local emulator's: plain HTTP, or
// a loopback or localhost address. An empty endpoint is AWS itself.
func IsEmulator(endpoint string) (bool, error) {
	if endpoint == "" {
		return false, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return false, fmt.Errorf("awsenv: endpoint %q is not an absolute URL", endpoint)
	}
	if u.Scheme == "http" || u.Hostname() == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback(), nil
}
