/*
 * SPDX-License-Identifier: MIT
 *
 * hvshim-kvm's DSDT. The machine is ACPI hardware-reduced: no SCI, no
 * fixed-feature registers; power-off goes through the FADT's sleep control
 * register with the S5 type below, reset through its reset register.
 *
 * VMBus: Linux's hv_vmbus binds to _HID "VMBus" and walks its _CRS; the
 * MMIO space for synthetic devices comes from an ancestor's _CRS, so the
 * bus sits in a module device (ACPI0004) that owns the MMIO window
 * VMM_MMIO_WINDOW_BASE/SIZE of vmm.h.
 */
DefinitionBlock ("", "DSDT", 2, "HVSHIM", "HVSHIMKV", 0x00000001)
{
    /* SLP_TYPa/b for S5; kvm-glue/dev/pm.c powers off on type 5. */
    Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })

    Scope (\_SB)
    {
        /*
         * COM1 (kvm-glue/dev/serial.c). A hardware-reduced machine has no
         * legacy PIC, so Linux maps no ISA IRQs by default: describing the
         * port here lets its PNP serial driver register IRQ 4 as a GSI, or
         * interrupt-driven transmit (all tty output) never completes.
         */
        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501"))
            Name (_UID, One)
            Name (_STA, 0x0F)
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08)
                IRQNoFlags () {4}
            })
        }

        Device (VMOD)
        {
            Name (_HID, "ACPI0004")
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
                    NonCacheable, ReadWrite,
                    0x00000000,         /* granularity */
                    0xE0000000,         /* minimum */
                    0xFBFFFFFF,         /* maximum */
                    0x00000000,         /* translation */
                    0x1C000000)         /* length */
            })

            Device (VMBS)
            {
                Name (STA, 0x0F)
                /* iasl only accepts 7- or 8-character _HID strings in a
                 * Name; a method returning it is evaluated the same. */
                Method (_HID, 0, NotSerialized)
                {
                    Return ("VMBus")
                }
                Name (_UID, Zero)
                Name (_DDN, "VMBUS")
                Name (_CRS, ResourceTemplate ()
                {
                    IRQ (Edge, ActiveHigh, Exclusive) {5}
                })
                Method (_STA, 0, NotSerialized)
                {
                    Return (STA)
                }
            }
        }
    }
}
