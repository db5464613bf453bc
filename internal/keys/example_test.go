package keys_test

import (
	"fmt"

	"github.com/integration-hub/hub/internal/keys"
)

func ExampleUser() {
	fmt.Println(keys.User("o1", "u1"))
	fmt.Println(keys.UserID(keys.User("o1", "u1").SK))
	// Output:
	// ORG#o1 / USER#u1
	// u1 true
}

func ExampleEmail() {
	fmt.Println(keys.Email("ada@example.com"))
	// Output: EMAIL#ada@example.com / EMAIL
}

func ExampleValidID() {
	fmt.Println(keys.ValidID("01J9Z"), keys.ValidID("a#b"), keys.ValidID(""))
	// Output: true false false
}
