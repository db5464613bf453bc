package email_test

import (
	"errors"
	"fmt"

	"github.com/integration-hub/hub/internal/email"
	"github.com/integration-hub/hub/internal/outbox"
)

func ExampleRender() {
	subject, text, _, err := email.Render(outbox.Invitation, map[string]string{
		"org_name":   "Acme",
		"inviter":    "Ada Lovelace",
		"expires_at": "Tue, 10 Mar 2026 09:00:00 UTC",
		"link":       "https://hub.example.com/accept-invitation#token=abc",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(subject)
	fmt.Print(text)
	// Output:
	// You're invited to Acme on Integration Hub
	// Hello,
	//
	// Ada Lovelace has invited you to join Acme on Integration Hub.
	//
	// Accept the invitation and choose your password:
	// https://hub.example.com/accept-invitation#token=abc
	//
	// The invitation expires on Tue, 10 Mar 2026 09:00:00 UTC. If you were not expecting it, you can ignore this email.
}

func ExampleRender_passwordReset() {
	subject, text, _, _ := email.Render(outbox.PasswordResetRequested, map[string]string{
		"expires_at": "Tue, 10 Mar 2026 09:00:00 UTC",
		"link":       "https://hub.example.com/reset-password#token=abc",
	})
	fmt.Println(subject)
	fmt.Print(text)
	// Output:
	// Reset your Integration Hub password
	// Hello,
	//
	// Someone asked to reset the password of your Integration Hub account. Choose a new password here:
	// https://hub.example.com/reset-password#token=abc
	//
	// The link expires on Tue, 10 Mar 2026 09:00:00 UTC and works once.
	//
	// If this wasn't you, ignore this email: your password stays as it is.
}

func ExampleRender_errors() {
	_, _, _, err := email.Render("org.deleted", nil)
	fmt.Println(err, errors.Is(err, email.ErrUnknownKind))
	_, _, _, err = email.Render(outbox.PasswordResetRequested, map[string]string{"link": "https://hub.example.com/reset-password#token=abc"})
	fmt.Println(err, email.IsPermanent(err))
	// Output:
	// email: no template for events of kind "org.deleted" true
	// email: user.password_reset needs fields expires_at true
}

func ExampleLinks() {
	fmt.Println(email.Links("Open https://hub.example.com/accept-invitation#token=abc. Or http://localhost:8080/help), then https://hub.example.com/accept-invitation#token=abc"))
	// Output: [https://hub.example.com/accept-invitation#token=abc http://localhost:8080/help]
}
