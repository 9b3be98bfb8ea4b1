#!/usr/bin/env bash
# The key material a container deployment of Hotline needs, made with the hotline CLI:
#
#   deploy/make-secrets.sh DIR [--compose]
#
#   DIR/tokens/tokens.json   the token registry every service checks bearer tokens against
#                            (hashes only; `hotline token create --tokens-file` adds tokens)
#   DIR/tokens/service.token the services' own token (role service)
#   DIR/admin.token          an admin token for you (the CLI: --token-file DIR/admin.token);
#                            it is not given to any service
#   DIR/curve/NAME.key       the CURVE secret key of intake, dispatch, sla, callback,
#                            analytics and tools (for bus tools run by operators); NAME.pub
#                            beside it
#   DIR/curve-public.env     CURVE_PUB_<NAME>=<public key> lines: the allow-list and the feeds'
#                            server keys (docker-compose --env-file, kustomize configMapGenerator)
#
# Kubernetes: DIR is deploy/k8s/base/secrets (kustomize's secretGenerator and configMapGenerator
# read it; the directory is git-ignored). Compose: DIR is deploy/compose/secrets, with --compose,
# which makes the files readable by the containers' user (the directory stays 0700 on the host).
# Nothing existing is replaced: run it again to fill in what is missing; delete a file to make it
# anew (a new key or registry means restarting the services that use it).
# HOTLINE_CLI names the hotline binary (default: `hotline` on PATH, else build/*/bin/hotline).
set -euo pipefail

usage() { echo "usage: $0 DIR [--compose]" >&2; exit 2; }
[ $# -ge 1 ] || usage
DIR=$1
COMPOSE=false
[ $# -lt 2 ] || { [ "$2" = --compose ] && COMPOSE=true || usage; }

HERE=$(cd "$(dirname "$0")/.." && pwd)
CLI=${HOTLINE_CLI:-$(command -v hotline || ls "$HERE"/build/*/bin/hotline 2>/dev/null | head -1 || true)}
[ -n "$CLI" ] && [ -x "$CLI" ] || { echo "$0: no hotline CLI: set HOTLINE_CLI or build first" >&2; exit 1; }

NAMES=(intake dispatch sla callback analytics tools)
umask 077
mkdir -p "$DIR/tokens" "$DIR/curve"
chmod 700 "$DIR"

"$CLI" keys --dir "$DIR/curve" "${NAMES[@]}" >/dev/null
: >"$DIR/curve-public.env.tmp"
# Z85 keys hold $, #, & and the like but never a quote: Compose's env file takes them literally
# in single quotes; kustomize's takes the line as it is, quotes included, so none there.
Q=; ! $COMPOSE || Q="'"
for n in "${NAMES[@]}"; do
  printf 'CURVE_PUB_%s=%s%s%s\n' "${n^^}" "$Q" "$(tr -d '\n' <"$DIR/curve/$n.pub")" "$Q" \
    >>"$DIR/curve-public.env.tmp"
done
mv "$DIR/curve-public.env.tmp" "$DIR/curve-public.env"

REG=$DIR/tokens/tokens.json
if [ ! -s "$DIR/tokens/service.token" ]; then
  "$CLI" token create --tokens-file "$REG" --role service --name "hotline services" \
    --expires never --out "$DIR/tokens/service.token" >/dev/null
fi
if [ ! -s "$DIR/admin.token" ]; then
  "$CLI" token create --tokens-file "$REG" --role admin --name "admin (make-secrets)" \
    --expires 30d --out "$DIR/admin.token" >/dev/null
fi

if $COMPOSE; then
  # Bind mounts keep the host's modes: the containers run as the image's user, not as you.
  chmod 755 "$DIR/tokens" "$DIR/curve"
  chmod 644 "$DIR"/tokens/* "$DIR"/curve/* "$DIR/curve-public.env"
fi
echo "secrets in $DIR: tokens/tokens.json, tokens/service.token, curve/{$(IFS=,; echo "${NAMES[*]}")}.key, curve-public.env; your admin token: $DIR/admin.token"
