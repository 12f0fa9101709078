package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/textproto"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"example.com/rampart/internal/egress"
	"example.com/rampart/internal/rampart"
)

// Reason reduces a delivery error to what may be logged and stored: a fixed
// phrase and, for a refusal, the SMTP reply code (and enhanced code). Never
// the error's text: a server's reply may quote the recipient, and dial
// errors name hosts only the operator configured, but a fixed set is easier
// to prove safe than a filter.
func Reason(err error) string {
	var (
		send    *gomail.SendError
		proto   *textproto.Error
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		recErr  tls.RecordHeaderError
		netErr  net.Error
	)
	switch {
	case err == nil:
		return ""
	case errors.Is(err, egress.ErrRefused):
		return "refused by the egress allowlist"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "stopped"
	case rampart.ErrorKind(err) == rampart.KindInvalid:
		return "message not usable"
	case errors.As(err, &send):
		phrase := "refused at " + sendStage(send.Reason)
		if code := send.ErrorCode(); code > 0 {
			phrase += " (" + strconv.Itoa(code)
			if enh := send.EnhancedStatusCode(); enh != "" && enh != "0.0.0" {
				phrase += " " + enh
			}
			phrase += ")"
		}
		return phrase
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &host):
		return "server certificate not trusted"
	case errors.As(err, &recErr):
		return "TLS handshake failed (not a TLS server?)"
	case strings.Contains(err.Error(), "does not support STARTTLS"):
		return "server does not offer STARTTLS"
	case errors.Is(err, gomail.ErrNoSupportedAuthDiscovered), errors.Is(err, gomail.ErrPlainAuthNotSupported):
		return "no usable authentication mechanism"
	case errors.As(err, &proto):
		return "refused (" + strconv.Itoa(proto.Code) + ")"
	case errors.As(err, &netErr):
		return "connection failed"
	}
	return "delivery failed"
}

func sendStage(r gomail.SendErrReason) string {
	switch r {
	case gomail.ErrSMTPMailFrom:
		return "MAIL FROM"
	case gomail.ErrSMTPRcptTo:
		return "RCPT TO"
	case gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return "DATA"
	}
	return "sending"
}
