#!/usr/bin/env bash
# runner_html.sh — the HTML report opened in headless Chromium: the page renders, its DOM holds one
# SVG timeline per scenario, and the screenshot really shows them (pixels in the timeline's colours,
# which the same page without its SVGs does not have). Skipped, saying so, without Chromium.
source "$(dirname "$0")/runner_lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "chromium is not installed (apt-get install chromium; see scripts/packages.d/runner.txt)"

out="$WORK/out.txt"
"$FSYNCLAB" run -j 2 "$FIX/ok" --html "$WORK/report.html" >"$out" 2>&1 || { cat "$out"; fail "fixtures"; }
assert_clean

# chrome ARGS... - headless Chromium with no network side-channels, its own profile directory.
chrome() {
	local profile
	profile=$(mktemp -d "$WORK/chrome.XXXXXX")
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --disable-default-apps \
		--user-data-dir="$profile" --window-size=1100,2600 --hide-scrollbars "$@" 2>>"$WORK/chrome.log"
}

chrome --dump-dom "file://$WORK/report.html" >"$WORK/dom.html" || { tail "$WORK/chrome.log"; fail "chromium --dump-dom"; }
n_svg=$(grep -o '<svg class="timeline"' "$WORK/dom.html" | wc -l)
[ "$n_svg" -eq 5 ] || fail "expected 5 SVG timelines in the rendered DOM, found $n_svg"
grep -q '<circle' "$WORK/dom.html" || fail "no event markers in the timelines"
grep -q 'id="policy-table"' "$WORK/dom.html" || fail "no policy trade-off table"

chrome --screenshot="$WORK/with.png" "file://$WORK/report.html" >/dev/null || fail "chromium --screenshot"
# the same page with its SVG timelines removed: the control picture
python3 - "$WORK/report.html" "$WORK/nosvg.html" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
open(sys.argv[2], "w", encoding="utf-8").write(re.sub(r"<svg class=\"timeline\".*?</svg>", "", html, flags=re.S))
PY
chrome --screenshot="$WORK/without.png" "file://$WORK/nosvg.html" >/dev/null || fail "chromium --screenshot (control)"

# count_colour PNG - pixels close to colours only the timelines use (reboot purple,
# fsync/recover green, error red), from a plain PNG decoder (zlib + scanline filters).
cat >"$WORK/count.py" <<'PY'
import struct, sys, zlib
def pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw, stride, prev, out = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append(bytes(line)); prev = line
    return out, bpp
rows, bpp = pixels(sys.argv[1])
want = [(0x94, 0x67, 0xbd), (0x2c, 0xa0, 0x2c), (0xd6, 0x27, 0x28)]  # reboot, fsync/recover, error markers
n = 0
for row in rows:
    for i in range(0, len(row), bpp):
        r, g, b = row[i], row[i + 1], row[i + 2]
        if any(abs(r - x) < 12 and abs(g - y) < 12 and abs(b - z) < 12 for x, y, z in want):
            n += 1
print(n)
PY
with=$(python3 "$WORK/count.py" "$WORK/with.png")
without=$(python3 "$WORK/count.py" "$WORK/without.png")
echo "timeline-coloured pixels: $with with the SVGs, $without without"
[ "$with" -gt 500 ] || fail "the screenshot does not show the timelines ($with pixels in their colours)"
[ "$with" -gt $((without * 4 + 100)) ] || fail "the SVGs make no visible difference ($with vs $without)"
echo PASS
