# "json:{...}" image names on the command line, as qemu-img 7.2 takes
# them on all four subcommands: the options of --image-opts as a JSON
# object, nested or with dotted keys, in qemu's dialect (single quotes
# too).  The same name gives the same output and exit status from
# instar as from qemu-img, a name qemu-img refuses is refused in its
# words, and nothing changes on a refusal.
REGRESS_DIR=$(cd "$(dirname "$0")" && pwd)
. "$REGRESS_DIR/test-exec.sh"

qimg create -f qcow2 base.qcow2 4M
qio -c 'write -P 0x11 0 1M' base.qcow2
qimg create -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qio -c 'write -P 0x22 512k 1M' top.qcow2

flat='json:{"driver":"qcow2","file.filename":"top.qcow2"}'
nested="json:{'driver':'qcow2','file':{'driver':'file','filename':'top.qcow2'}}"
spaced='json: { "file" : { "filename" : "top.qcow2" } , "driver" : "qcow2" }'
probed='json:{"file":{"driver":"file","filename":"top.qcow2"}}'
escaped='json:{"driver":"qc\u006fw2","file.filename":"top\/..\/top.qcow2"}'

# info and check read the image the name stands for.
for name in "$flat" "$nested" "$spaced" "$probed" "$escaped"; do
	same_words info "$name"
	same_words info --output=json "$name"
	same_words info --backing-chain "$name"
	same_words check "$name"
	same_words check --output=json "$name"
done
# -f wins over the object's driver, as qemu's explicit options do.
same_words info -f raw "$flat"
same_words info -f qcow2 'json:{"driver":"raw","file.filename":"top.qcow2"}'

# What qemu-img refuses: JSON it cannot parse, a value that is not an
# object, names that name no image, formats and options it lacks.
for name in 'json:' 'json:   ' 'json:{' 'json:{"driver":' \
    'json:{"driver":"qcow2"' 'json:[1]' 'json:"top.qcow2"' 'json:{} {}' \
    'json:{"driver":qcow2}' 'json:{driver:"qcow2"}' 'json:{1:2}' \
    'json:{"a":1 "b":2}' 'json:{"a" 1}' 'json:{"a":}' 'json:{"a":-}' \
    'json:{"a":1.}' 'json:{"a":"\q"}' 'json:{"a":"\ud800"}' \
    'json:{"a":"\uffff"}' 'json:{}' 'json:{"driver":"qcow2"}' \
    'json:{"file":"top.qcow2"}' 'json:{"driver":"nope","file.filename":"top.qcow2"}' \
    'json:{"driver":"qcow2","file.filename":"missing.qcow2"}' \
    'json:{"driver":"vmdk","file.filename":"top.qcow2"}' \
    'json:{"x":1,"file.filename":"top.qcow2","driver":"qcow2"}' \
    'json:{"driver":"qcow2","file":{"filename":"top.qcow2","x":[1]}}' \
    'json:{"a":1.5e3,"b":[1,2],"c":{}}'; do
	same_words info "$name"
	same_words check "$name"
done
same_words commit 'json:{"driver":"qcow2"}'
same_words rebase -u -b '' 'json:{"a":1 "b":2}'

# instar's own refusals (no protocol but file, always a lock): its own
# words, and no change.
before=$(image_sums)
refuses "another protocol" "over the file protocol only" \
    info 'json:{"driver":"qcow2","file":{"driver":"nbd","filename":"top.qcow2"}}'
refuses "no locking" "always locks" \
    check 'json:{"driver":"qcow2","file":{"filename":"top.qcow2","locking":"off"}}'
[ "$before" = "$(image_sums)" ]
check $? "a refused name changed files"

# commit and rebase -u of a json: name end alike with each tool.
for tool in q i; do
	cp base.qcow2 $tool-base.qcow2
	qimg create -f qcow2 -b $tool-base.qcow2 -F qcow2 $tool-top.qcow2
	qio -c 'write -P 0x33 1M 64k' $tool-top.qcow2
done
"$QEMU_IMG" commit "json:{\"driver\":\"qcow2\",\"file.filename\":\"q-top.qcow2\"}" \
    >"$WORK/.qout" 2>&1
check $? "qemu-img commit of a json: name failed: $(cat "$WORK/.qout")"
"$INSTAR" commit "json:{\"driver\":\"qcow2\",\"file.filename\":\"i-top.qcow2\"}" \
    >"$WORK/.iout" 2>&1
check $? "instar commit of a json: name failed: $(cat "$WORK/.iout")"
cmp -s "$WORK/.qout" "$WORK/.iout"
check $? "commit of a json: name: output differs"
"$QEMU_IMG" compare -f qcow2 -F qcow2 q-base.qcow2 i-base.qcow2 >/dev/null
check $? "commit of a json: name: the bases differ"
"$QEMU_IMG" check -q i-base.qcow2
check $? "commit of a json: name: the base is not clean"

for tool in q i; do
	prog=$QEMU_IMG
	[ $tool = i ] && prog=$INSTAR
	"$prog" rebase -u -b '' \
	    "json:{'file':{'filename':'$tool-top.qcow2'}}" >/dev/null 2>&1
	check $? "$tool: rebase -u of a json: name failed"
done
[ "$("$QEMU_IMG" info --output=json q-top.qcow2 | jq -c 'del(.filename, ."actual-size")')" = \
    "$("$QEMU_IMG" info --output=json i-top.qcow2 | jq -c 'del(.filename, ."actual-size")')" ]
check $? "rebase -u of a json: name: the images differ"

finish
