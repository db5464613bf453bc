package keys_test

import (
	"fmt"

	"github.com/integration-hub/hub/internal/keys"
)

func ExampleEndUserTenant() {
	// End-user ids come from the SaaS: "#" in one cannot reach another's
	// partition.
	fmt.Println(keys.EndUserTenant("o1", "customer#1", "t1"))
	fmt.Println(keys.EndUserTenant("o1", "customer", "t1"))
	// Output:
	// ORG#o1#ENDUSER#Y3VzdG9tZXIjMQ / TENANT#t1
	// ORG#o1#ENDUSER#Y3VzdG9tZXI / TENANT#t1
}

func ExampleRun() {
	fmt.Println(keys.Run("o1", "t1", "r1"))
	fmt.Println(keys.RunTrigger("o1", "r1"))
	// Output:
	// ORG#o1#TENANT#t1 / RUN#r1
	// ORG#o1 / TRIGGER#r1
}

func ExampleAPIKeyLookup() {
	fmt.Println(keys.APIKey("o1", "k1"))
	fmt.Println(keys.APIKeyLookup("k1"))
	// Output:
	// ORG#o1 / APIKEY#k1
	// APIKEY#k1 / APIKEY
}
