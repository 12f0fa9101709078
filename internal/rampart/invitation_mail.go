package rampart

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// The texts of invitation mail. Each carries the link (token in the
// fragment, see mailLink) and says when it expires. The three differ only in
// what they ask the reader to do; the HTTP answer to the admin is the same
// for all three.

func invitationNewMail(to, tenant, link string, expires time.Time) Mail {
	return invitationMail(to, tenant, link, expires,
		fmt.Sprintf("You have been invited to join %s on Rampart.", tenant),
		"To accept, open this link and choose a password for your new account", invitationIgnore)
}

func invitationAccountMail(to, tenant, link string, expires time.Time) Mail {
	return invitationMail(to, tenant, link, expires,
		fmt.Sprintf("You have been added to the invitations of %s on Rampart.", tenant),
		"You already have an account with this address: sign in, then open this link to accept", invitationIgnore)
}

func invitationMemberMail(to, tenant, link string, expires time.Time) Mail {
	return invitationMail(to, tenant, link, expires,
		fmt.Sprintf("You have been invited again to %s on Rampart, where you are already a member.", tenant),
		"There is nothing to do; accepting (sign in, then open this link) changes nothing", "")
}

// invitationIgnore closes the mails to someone who may not know the tenant.
const invitationIgnore = "If you did not expect this invitation, ignore this message.\n"

// invitationMail is the one layout of the three: what happened, what to
// do with the link, the link, its expiry, then after (empty or a line).
func invitationMail(to, tenant, link string, expires time.Time, what, ask, after string) Mail {
	return Mail{Kind: MailInvitation, To: to, Subject: invitationSubject + mailSubjectName(tenant),
		Body: fmt.Sprintf("%s\n\n%s:\n\n%s\n\nThe link can be used once and expires at %s.\n%s",
			what, ask, link, expires.UTC().Format(time.RFC1123), after)}
}

const invitationSubject = "You are invited to "

// mailSubjectName is a tenant's name as the subject may show it: tenant
// names have no control characters (CheckTenantName, the signup rule), but
// a name within the signup rule's length in runes may still be longer in
// bytes than the subject's bound (MaxMailSubject), so it is cut there, on
// a rune boundary.
func mailSubjectName(name string) string {
	for len(invitationSubject)+len(name) > MaxMailSubject {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name
}
