#!/usr/bin/env bash
# Lab USB device: a configfs composite gadget on dummy_hcd (the kernel's software USB host+device controller),
# so the guest's USB host stack (cdc_acm, usbhid, libusb) sees a real device on a real bus.
#   usb-gadget.sh up VID PID     ACM (serial, /dev/ttyGS0 on the device side) + HID (8-byte reports, /dev/hidg0)
#   usb-gadget.sh unplug         unbind from the controller: the host sees the device leave
#   usb-gadget.sh replug         bind again
set -euo pipefail
gadget=/sys/kernel/config/usb_gadget/boothlab
case "${1:-}" in
up)
    vid=${2:?vid} pid=${3:?pid}
    modprobe dummy_hcd
    modprobe libcomposite
    mountpoint -q /sys/kernel/config || mount -t configfs configfs /sys/kernel/config
    mkdir -p "$gadget"
    cd "$gadget"
    echo "0x$vid" >idVendor
    echo "0x$pid" >idProduct
    echo 0x0100 >bcdDevice
    echo 0x0200 >bcdUSB
    # Miscellaneous class with interface association descriptors: what a composite with CDC-ACM needs.
    echo 0xef >bDeviceClass
    echo 0x02 >bDeviceSubClass
    echo 0x01 >bDeviceProtocol
    mkdir -p strings/0x409 configs/c.1/strings/0x409
    echo "boothd lab" >strings/0x409/manufacturer
    echo "Lab pulse oximeter cable" >strings/0x409/product
    echo "LAB0001" >strings/0x409/serialnumber
    echo "serial+hid" >configs/c.1/strings/0x409/configuration
    echo 100 >configs/c.1/MaxPower
    # HID first (interface 0), then ACM (interfaces 1-2).
    mkdir -p functions/hid.oximeter
    echo 0 >functions/hid.oximeter/protocol
    echo 0 >functions/hid.oximeter/subclass
    echo 8 >functions/hid.oximeter/report_length
    # Report descriptor: vendor page 0xFF00, one 8-byte input report and one 8-byte output report.
    printf '\x06\x00\xff\x09\x01\xa1\x01\x15\x00\x26\xff\x00\x75\x08\x95\x08\x09\x02\x81\x02\x09\x03\x91\x02\xc0' \
        >functions/hid.oximeter/report_desc
    mkdir -p functions/acm.serial
    ln -sf "$gadget/functions/hid.oximeter" configs/c.1/
    ln -sf "$gadget/functions/acm.serial" configs/c.1/
    ls /sys/class/udc | head -1 >UDC
    echo "gadget $vid:$pid bound to $(cat UDC)"
    ;;
unplug)
    echo "" >"$gadget/UDC"
    echo "gadget unplugged"
    ;;
replug)
    ls /sys/class/udc | head -1 >"$gadget/UDC"
    echo "gadget plugged in again"
    ;;
*)
    echo "usage: $0 up VID PID | unplug | replug" >&2
    exit 2
    ;;
esac
