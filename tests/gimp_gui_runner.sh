#!/bin/sh
# Runs INSIDE the GIMP 3 chroot: the plug-in through GIMP's real GUI on a virtual X display.
#   gimp_gui_runner.sh IMAGE OUTDIR
# Xvfb + a minimal window manager (matchbox: GTK needs one to size and draw windows);
# xdotool drives the menus like a user: Filters > Colorize > Auto Colorize (Deep Learning)...,
# OK in the dialog, then Ctrl+Z. xwd screenshots go to OUTDIR: before, menu, dialog, after, undo.
IMAGE="$1"; OUT="$2"
export DISPLAY=:97 NO_AT_BRIDGE=1
mkdir -p "$OUT"; rm -f "$OUT"/*.xwd
shot() { xwd -root -silent > "$OUT/$1.xwd"; echo "shot $1"; }
cleanup() { kill $G 2>/dev/null; sleep 1; kill -9 $G 2>/dev/null; kill $WM $XV 2>/dev/null; }
Xvfb :97 -screen 0 1280x800x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
XV=$!
sleep 1
matchbox-window-manager -use_titlebar no >"$OUT/wm.log" 2>&1 &
WM=$!
dbus-launch --exit-with-session gimp-3.0 --no-splash "$IMAGE" >"$OUT/gimp.log" 2>&1 &
G=$!
trap cleanup EXIT
NAME=$(basename "$IMAGE" | sed 's/\.[^.]*$//')
for i in $(seq 90); do WID=$(xdotool search --onlyvisible --name "$NAME.*GIMP" 2>/dev/null | head -1); [ -n "$WID" ] && break; sleep 1; done
[ -n "$WID" ] || { echo "no GIMP window after 90 s"; exit 3; }
echo "window after $i s"
# GIMP 3 greets (each start, by default) with a Welcome dialog: wait for it, close it.
for i in $(seq 20); do xdotool search --onlyvisible --name "Welcome to GIMP" >/dev/null 2>&1 && break; sleep 1; done
sleep 2
xdotool mousemove 640 420
if xdotool search --onlyvisible --name "Welcome to GIMP" >/dev/null 2>&1; then
  xdotool key Escape
  for i in $(seq 10); do xdotool search --onlyvisible --name "Welcome to GIMP" >/dev/null 2>&1 || break; sleep 1; done
fi
sleep 1
shot before
# Filters menu (menu bar), Up = its last entry (Colorize), Right = open the submenu
xdotool mousemove 426 12 click 1; sleep 3
xdotool key Up; sleep 0.5; xdotool key Right; sleep 2
shot menu
xdotool key Return   # the submenu's first entry: Auto Colorize (Deep Learning)...
for i in $(seq 30); do xdotool search --onlyvisible --name "Auto Colorize" >/dev/null 2>&1 && break; sleep 1; done
xdotool search --onlyvisible --name "Auto Colorize" >/dev/null 2>&1 || { shot nodialog; echo "the dialog did not open"; exit 4; }
sleep 2
shot dialog
xdotool key Return   # OK
for i in $(seq 60); do
  sleep 1
  xdotool search --onlyvisible --name "Auto Colorize" >/dev/null 2>&1 || break
done
echo "dialog closed after $i s"
sleep 6
shot after
xdotool mousemove 640 420; sleep 0.3; xdotool key ctrl+z; sleep 3
shot undo
