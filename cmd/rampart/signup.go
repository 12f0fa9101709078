package main

// Signup mode (RAMPART_SIGNUP): how strangers become accounts.

import (
	"slices"

	"example.com/rampart/internal/rampart"
)

// signupVariables is the RAMPART_SIGNUP row. Production defaults to verify:
// an open signup there answers 409 for a taken address, which tells anyone
// who has an account.
func signupVariables() []variable {
	return []variable{
		{Name: "RAMPART_SIGNUP", Default: string(rampart.SignupOpen), ProdDefault: string(rampart.SignupVerify),
			Doc: "`open` (201, 409 when the address is taken; a verification link is mailed when `RAMPART_SMTP_URL` is set), `verify` (202 whatever the address; a mailed link completes the signup, a taken address gets a notice with a reset link) or `closed` (403); production refuses `verify` without `RAMPART_SMTP_URL` (rule `signup_mail`)",
			codec: codec{
				set: func(c *Config, v string, bad func(string)) {
					if !slices.Contains(rampart.SignupModes(), rampart.SignupMode(v)) {
						bad("must be open, verify or closed")
						return
					}
					c.Signup = rampart.SignupMode(v)
				},
				show: func(c Config) string { return string(c.Signup) },
			}},
	}
}

// checkSignupMail is the production rule signup_mail: in verify mode every
// signup waits for a mailed link, so without a real transport nobody could
// ever sign up (the .eml files are on the server's disk).
func (c Config) checkSignupMail() (bool, string) {
	if c.Signup == rampart.SignupVerify && c.SMTPURL == "" {
		return false, "verify needs RAMPART_SMTP_URL: its links go by mail; set a transport, or choose open or closed"
	}
	return true, string(c.Signup)
}
