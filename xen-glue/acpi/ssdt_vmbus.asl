/* SPDX-License-Identifier: MIT */
/*
 * The VMBus ACPI device for an hvshim Xen guest. Linux's hv_vmbus binds to
 * _HID "VMBus" and needs a _CRS it can walk; it takes MMIO windows for
 * synthetic devices from an ancestor's _CRS, and the devices hvshimd offers
 * (integration services, NIC, disks) need none, so the bus sits directly
 * under \_SB with only an interrupt (unused on x86: VMBus interrupts arrive
 * on the SynIC vector).
 *
 * hvmloader adds this SSDT when xenstore has platform/hvshim_vmbus = "1"
 * (tools/libacpi, from export's patches). With a stock hvmloader the same
 * table can be given as xl's acpi_firmware= (compile with iasl).
 */
DefinitionBlock ("SSDT_VMBUS.aml", "SSDT", 2, "HVSHIM", "VMBUS", 1)
{
    Scope (\_SB)
    {
        Device (VMBS)
        {
            /* iasl accepts only 7- or 8-character _HID strings in a Name;
             * a method returning the string is evaluated the same way. */
            Method (_HID, 0, NotSerialized)
            {
                Return ("VMBus")
            }
            Name (_UID, Zero)
            Name (_DDN, "VMBUS")
            Name (_STA, 0x0F)
            Name (_CRS, ResourceTemplate ()
            {
                IRQ (Edge, ActiveHigh, Exclusive) {5}
            })
        }
    }
}
