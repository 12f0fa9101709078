# Helpers shared by the .ci scripts, sourced (not run) after the script sets
# ci_name, the prefix of its messages.

# exit, not return: the checks also run in subshells under "if", where set -e
# does not apply.
fail() {
	echo "$ci_name: FAIL: $*" >&2
	exit 1
}

# free_port prints a loopback TCP port that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
