#!/usr/bin/env bash
# sign.sh EXE... : signs Windows executables in place with osslsigncode (Authenticode, SHA-256).
#
# The certificate, first match wins:
#   WINDOWS_SIGN_PFX=file.pfx  [WINDOWS_SIGN_PASS_FILE=file]   a PKCS#12 bundle (key and chain)
#   WINDOWS_SIGN_CERT=chain.pem WINDOWS_SIGN_KEY=key.pem [WINDOWS_SIGN_PASS_FILE=file]
#   neither: a self-signed TEST certificate made here, in $WINDOWS_SIGN_DIR (default
#            .work/windows/sign), kept while it has more than a day left. Windows does not
#            trust it (SmartScreen still warns); it exists so that the signing step is
#            exercised on every build and `make test-windows` can verify the result.
# WINDOWS_SIGN_TIMESTAMP=URL adds an RFC 3161 timestamp (needed for a real release, so the
# signature outlives the certificate); none by default: the build machine has no network.
# The password is read from a file, never from the command line (ps would show it).
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 EXE..." >&2; exit 2; }
command -v osslsigncode >/dev/null || { echo "sign.sh: osslsigncode not found (apt-get install osslsigncode)" >&2; exit 1; }

dir=${WINDOWS_SIGN_DIR:-.work/windows/sign}
args=()
if [ -n "${WINDOWS_SIGN_PFX:-}" ]; then
	args=(-pkcs12 "$WINDOWS_SIGN_PFX")
	what="PFX $WINDOWS_SIGN_PFX"
elif [ -n "${WINDOWS_SIGN_CERT:-}${WINDOWS_SIGN_KEY:-}" ]; then
	if [ -z "${WINDOWS_SIGN_CERT:-}" ] || [ -z "${WINDOWS_SIGN_KEY:-}" ]; then
		echo "sign.sh: WINDOWS_SIGN_CERT and WINDOWS_SIGN_KEY go together" >&2
		exit 2
	fi
	args=(-certs "$WINDOWS_SIGN_CERT" -key "$WINDOWS_SIGN_KEY")
	what="certificate $WINDOWS_SIGN_CERT"
else
	mkdir -p "$dir"
	cert=$dir/test-cert.pem key=$dir/test-key.pem
	if ! { [ -s "$cert" ] && [ -s "$key" ] && openssl x509 -in "$cert" -noout -checkend 86400 >/dev/null; }; then
		openssl req -x509 -newkey rsa:3072 -nodes -days 90 -keyout "$key" -out "$cert" \
			-subj "/O=patchgate/CN=patchgate TEST code signing (not trusted by Windows)" \
			-addext "basicConstraints=critical,CA:FALSE" \
			-addext "keyUsage=critical,digitalSignature" \
			-addext "extendedKeyUsage=codeSigning" 2>/dev/null
		chmod 600 "$key"
	fi
	args=(-certs "$cert" -key "$key")
	what="TEST certificate $cert"
fi
if [ -n "${WINDOWS_SIGN_PASS_FILE:-}" ]; then
	args+=(-readpass "$WINDOWS_SIGN_PASS_FILE")
fi
if [ -n "${WINDOWS_SIGN_TIMESTAMP:-}" ]; then
	args+=(-ts "$WINDOWS_SIGN_TIMESTAMP")
fi

for exe in "$@"; do
	tmp=$exe.signing
	rm -f "$tmp"
	osslsigncode sign "${args[@]}" -h sha256 -n patchgate -in "$exe" -out "$tmp" >/dev/null
	chmod 755 "$tmp"
	mv "$tmp" "$exe"
	echo "signed $exe with the $what"
done
