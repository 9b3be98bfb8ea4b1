#!/usr/bin/env bash
# Packages (issue 13, first step): `cmake --install` puts the five services, the CLI, the
# systemd units and the monitoring files where a Debian system keeps them; `systemd-analyze
# verify` accepts the units (the template for each of the five services, and the target that
# starts them), with a control that a unit naming a missing binary is refused; `cpack -G DEB`
# builds the package, whose control lists the shared libraries it needs (dpkg-shlibdeps),
# which lintian finds no error in, and whose files unpack to binaries that run.
source "$(dirname "$0")/../lib.sh"
BUILD=$(dirname "$BIN")
[ -f "$BUILD/CPackConfig.cmake" ] || fail "no CPackConfig.cmake in $BUILD: configure with cmake first"
SERVICES=(intake dispatch sla callback analytics)

# ---- install ----
DESTDIR="$T/root" cmake --install "$BUILD" --prefix /usr >"$T/install.log" 2>&1 ||
  fail "cmake --install: $(tail -5 "$T/install.log")"
for f in usr/bin/hotline "${SERVICES[@]/#/usr/bin/hotline-}" \
         usr/lib/systemd/system/hotline@.service usr/lib/systemd/system/hotline.target \
         usr/lib/systemd/system/hotline-intake@.service \
         usr/share/hotline/monitoring/alerts.yml usr/share/hotline/monitoring/prometheus.yml \
         usr/share/doc/hotline/README.md usr/share/doc/hotline/copyright \
         usr/share/doc/hotline/changelog.gz; do
  [ -e "$T/root/$f" ] || fail "not installed: /$f"
done
for p in hotline "${SERVICES[@]/#/hotline-}"; do # manual pages, from each program's --help
  zcat "$T/root/usr/share/man/man1/$p.1.gz" 2>/dev/null | grep -q "^\.SH NAME" ||
    fail "no manual page for $p in /usr/share/man/man1"
done
zcat "$T/root/usr/share/man/man1/hotline-intake.1.gz" | grep -q 'reuse\\-port' ||
  fail "hotline-intake(1) does not describe --reuse-port: it is not made from --help"
log "installed: $(find "$T/root" -type f | wc -l) files"

# ---- systemd ----
# verify checks that ExecStart is executable: point the units at the installed tree.
mkdir -p "$T/units"
for u in hotline@.service hotline-intake@.service; do
  sed "s|/usr/bin/|$T/root/usr/bin/|" "$T/root/usr/lib/systemd/system/$u" >"$T/units/$u"
done
cp "$T/root/usr/lib/systemd/system/hotline.target" "$T/units/"
for s in "${SERVICES[@]}"; do
  systemd-analyze verify "$T/units/hotline@$s.service" >"$T/verify.log" 2>&1 ||
    fail "systemd-analyze verify hotline@$s.service: $(cat "$T/verify.log")"
done
systemd-analyze verify "$T/units/hotline-intake@2.service" >"$T/verify.log" 2>&1 ||
  fail "systemd-analyze verify hotline-intake@2.service: $(cat "$T/verify.log")"
systemd-analyze verify "$T/units/hotline.target" >"$T/verify.log" 2>&1 ||
  fail "systemd-analyze verify hotline.target: $(cat "$T/verify.log")"
# Control: a unit whose binary is missing must be refused, or the check above proves nothing.
sed -i "s|hotline-%i |hotline-%i-missing |" "$T/units/hotline@.service"
systemd-analyze verify "$T/units/hotline@intake.service" >"$T/verify.log" 2>&1 &&
  fail "systemd-analyze accepted a unit whose binary is missing"
grep -q "hotline-intake-missing" "$T/verify.log" || fail "the control failed for another reason: $(cat "$T/verify.log")"
log "systemd-analyze verify: hotline@{${SERVICES[*]}}.service, hotline-intake@2.service and hotline.target pass; a missing binary is refused"

# ---- the Debian package ----
(cd "$T" && cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$T/pkg") >"$T/cpack.log" 2>&1 ||
  fail "cpack: $(tail -5 "$T/cpack.log")"
DEB=$(ls "$T"/pkg/hotline_*.deb)
dpkg-deb --info "$DEB" >"$T/info.txt"
for want in "Package: hotline" "Architecture: amd64" "libzmq5" "liblmdb0" "libprotobuf-c1" \
            "libuv1" "libsodium23" "libjansson4" "libcurl4" "libhttp-parser2.9" "adduser"; do
  grep -q "$want" "$T/info.txt" || fail "the package control lacks $want: $(cat "$T/info.txt")"
done
dpkg-deb --contents "$DEB" >"$T/contents.txt"
for f in ./usr/bin/hotline-intake ./usr/bin/hotline ./usr/lib/systemd/system/hotline@.service; do
  grep -q " $f\$" "$T/contents.txt" || fail "the package lacks $f"
done
dpkg-deb --ctrl-tarfile "$DEB" | tar -x -O ./postinst >"$T/postinst"
sh -n "$T/postinst" || fail "postinst is not valid sh"
grep -q "adduser --system" "$T/postinst" || fail "postinst does not create the hotline user"
# lintian: no error (its warnings are printed, not fatal); every program has its manual page.
lintian --fail-on error "$DEB" >"$T/lintian.txt" 2>&1 || fail "lintian: $(cat "$T/lintian.txt")"
grep -q "no-manual-page" "$T/lintian.txt" && fail "lintian finds a program without a manual page: $(grep no-manual-page "$T/lintian.txt")"
echo "lintian: no errors, $(grep -c '^W: ' "$T/lintian.txt") warnings: $(grep '^W: ' "$T/lintian.txt" | cut -d' ' -f3 | sort -u | tr '\n' ' ')" >"$T/lintian.sum"
# Control: the same package without its copyright file must fail lintian.
dpkg-deb -R "$DEB" "$T/bad"
rm "$T/bad/usr/share/doc/hotline/copyright"
sed -i '/usr\/share\/doc\/hotline\/copyright/d' "$T/bad/DEBIAN/md5sums"
dpkg-deb -b "$T/bad" "$T/bad.deb" >/dev/null
lintian --fail-on error "$T/bad.deb" >"$T/lintian_bad.txt" 2>&1 && fail "lintian passed a package without a copyright file"
grep -q "no-copyright-file" "$T/lintian_bad.txt" || fail "the lintian control failed for another reason: $(cat "$T/lintian_bad.txt")"
dpkg-deb -x "$DEB" "$T/x"
for s in "${SERVICES[@]}"; do
  "$T/x/usr/bin/hotline-$s" --version >/dev/null 2>&1 || fail "the packaged hotline-$s does not run"
done
"$T/x/usr/bin/hotline" --help >/dev/null 2>&1 || fail "the packaged hotline CLI does not run"
log "package $(basename "$DEB"): $(stat -c %s "$DEB") bytes, $(grep -c '^-' "$T/contents.txt") files; depends: $(sed -n 's/^ Depends: //p' "$T/info.txt")"
cat "$T/lintian.sum"
log "PASS: installed, units verified, Debian package built with its library dependencies, lintian-clean of errors, runnable binaries"
