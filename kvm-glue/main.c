/* SPDX-License-Identifier: MIT */
/*
 * hvshim-kvm: command line, machine assembly, and the boot/reboot loop.
 * Every user error (options, sizes, files, /dev/kvm) is one line on stderr
 * and exit status 2.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm-glue/bus.h"
#include "kvm-glue/vmm.h"

#define MEM_MIN (16ull << 20)
#define MEM_MAX (1ull << 40)

static void usage(FILE *f)
{
    fputs("usage: hvshim-kvm --kernel FILE [options]\n"
          "  --kernel FILE          Linux bzImage or multiboot (v1) kernel\n"
          "  --initrd FILE[,FILE]   initrd (bzImage) or multiboot modules \"path args,...\"\n"
          "  --append TEXT          kernel command line\n"
          "  --smp N                vCPUs (default 1, at most 255)\n"
          "  --mem SIZE             guest RAM, e.g. 512M, 1G (default 512M; no suffix: MiB)\n"
          "  --enlightenments LIST  preset or xl-style list, e.g. all,!stimer (default: host)\n"
          "  --serial stdio|none|file:PATH   COM1 backend (default stdio)\n"
          "  --reboot restart|exit  what a guest reboot does (default restart)\n"
          "  --trace LIST           msr,hypercall,synic,stimer,all: core events to stderr\n"
          "  --stats                print exit/hypercall/MSR statistics on exit\n"
          "  --no-sync-regs         read registers with ioctls (measurement only)\n"
          "  --autoeoi-scrub on|off clear AutoEOI vectors from ISR (default on; off only\n"
          "                         to show what goes wrong without it)\n"
          "  --vmbus on|off         VMBus host (default on when the synic, post_messages and\n"
          "                         signal_events enlightenments are)\n"
          "  --ic LIST              integration services: all (default), none, or e.g.\n"
          "                         heartbeat,shutdown or !kvp\n"
          "  --nic tap=NAME[,mac=MAC][,bridge=BR][,mtu=N]   synthetic NIC (repeatable)\n"
          "  --disk file=PATH[,ro][,direct][,serial=S][,lun=N]   SCSI disk (repeatable)\n"
          "  --shared-ram on|off    guest RAM in a memfd (default: on with --nic; NICs need\n"
          "                         it to map the guest's scattered buffers)\n"
          "  --ctl PATH             control socket for hvshim-ctl\n"
          "  --hv-echo              loopback connections 0x7E5701 (message) and 0x7E5702\n"
          "                         (event) for testing HvPostMessage/HvSignalEvent\n"
          "exit status: guest poweroff 0, usage error 2, guest crash 4, VMM failure 6,\n"
          "isa-debug-exit (port 0xf4) value v: (v << 1) | 1\n",
          f);
}

static void usage_error(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("hvshim-kvm: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(VMM_EXIT_USAGE);
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 20;
    switch (toupper((unsigned char)*end)) {
    case 0: break;
    case 'K': shift = 10; end++; break;
    case 'M': shift = 20; end++; break;
    case 'G': shift = 30; end++; break;
    case 'T': shift = 40; end++; break;
    default: return -1;
    }
    if (*end == 'i' && end[1] == 'B')
        end += 2;
    else if (*end == 'B')
        end++;
    if (*end || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static uint32_t parse_trace(const char *s)
{
    uint32_t m = 0;
    char *dup = strdup(s), *save = NULL;
    if (!dup)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "msr")) m |= VMM_TRACE_MSR;
        else if (!strcmp(t, "hypercall")) m |= VMM_TRACE_HYPERCALL;
        else if (!strcmp(t, "synic")) m |= VMM_TRACE_SYNIC;
        else if (!strcmp(t, "stimer")) m |= VMM_TRACE_STIMER;
        else if (!strcmp(t, "vmbus")) m |= VMM_TRACE_VMBUS;
        else if (!strcmp(t, "all")) m |= VMM_TRACE_MSR | VMM_TRACE_HYPERCALL | VMM_TRACE_SYNIC | VMM_TRACE_STIMER | VMM_TRACE_VMBUS;
        else usage_error("--trace: unknown group '%s' (msr, hypercall, synic, stimer, vmbus, all)", t);
    }
    free(dup);
    return m;
}

static hv_features_t parse_features(const char *text)
{
    hv_features_t host = vmm_host_features(), f;
    char err[256];
    if (hv_features_parse(text, host, &f, err, sizeof(err)) < 0)
        usage_error("--enlightenments: %s", err);
    f = hv_features_close(f);
    hv_features_t dropped = f & ~host;
    if (dropped) {
        char names[512] = "";
        for (int i = 0; i < HV_F_COUNT; i++) {
            if (!hv_has(dropped, (enum hv_feature)i))
                continue;
            size_t l = strlen(names);
            snprintf(names + l, sizeof(names) - l, "%s%s", l ? "," : "", hv_feature_name((enum hv_feature)i));
        }
        vmm_warn("enlightenments this host cannot do exactly are left out: %s", names);
    }
    return f & host;
}

static void parse_options(int argc, char **argv, struct vmm_options *o)
{
    enum { O_KERNEL = 256, O_INITRD, O_APPEND, O_SMP, O_MEM, O_ENL, O_SERIAL, O_REBOOT, O_TRACE,
           O_STATS, O_NOSYNC, O_SCRUB, O_VMBUS, O_IC, O_NIC, O_DISK, O_CTL, O_ECHO, O_SHARED, O_HELP };
    static const struct option longopts[] = {
        { "kernel", required_argument, 0, O_KERNEL },
        { "initrd", required_argument, 0, O_INITRD },
        { "append", required_argument, 0, O_APPEND },
        { "smp", required_argument, 0, O_SMP },
        { "mem", required_argument, 0, O_MEM },
        { "enlightenments", required_argument, 0, O_ENL },
        { "serial", required_argument, 0, O_SERIAL },
        { "reboot", required_argument, 0, O_REBOOT },
        { "trace", required_argument, 0, O_TRACE },
        { "stats", no_argument, 0, O_STATS },
        { "no-sync-regs", no_argument, 0, O_NOSYNC },
        { "autoeoi-scrub", required_argument, 0, O_SCRUB },
        { "vmbus", required_argument, 0, O_VMBUS },
        { "ic", required_argument, 0, O_IC },
        { "nic", required_argument, 0, O_NIC },
        { "disk", required_argument, 0, O_DISK },
        { "ctl", required_argument, 0, O_CTL },
        { "hv-echo", no_argument, 0, O_ECHO },
        { "shared-ram", required_argument, 0, O_SHARED },
        { "help", no_argument, 0, O_HELP },
        { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof(*o));
    o->smp = 1;
    o->mem = 512ull << 20;
    o->serial = "stdio";
    o->reboot_restart = true;
    o->features = parse_features("host");
    o->vmbus = -1;
    int shared = -1;
    opterr = 0;
    for (;;) {
        int idx = 0;
        int c = getopt_long(argc, argv, "", longopts, &idx);
        if (c == -1)
            break;
        switch (c) {
        case O_KERNEL: o->kernel = optarg; break;
        case O_INITRD: o->initrd = optarg; break;
        case O_APPEND: o->append = optarg; break;
        case O_SMP: {
            char *end;
            errno = 0;
            unsigned long n = strtoul(optarg, &end, 10);
            if (errno || *end || !isdigit((unsigned char)*optarg) || n < 1 || n > VMM_MAX_VCPUS)
                usage_error("--smp: '%s' is not a vCPU count from 1 to %u", optarg, VMM_MAX_VCPUS);
            o->smp = (uint32_t)n;
            break;
        }
        case O_MEM:
            if (parse_size(optarg, &o->mem) < 0)
                usage_error("--mem: '%s' is not a size (e.g. 512M, 1G)", optarg);
            if (o->mem < MEM_MIN || o->mem > MEM_MAX)
                usage_error("--mem: %s is outside 16M..1T", optarg);
            if (o->mem & 0xFFF)
                usage_error("--mem: %s is not a whole number of 4 KiB pages", optarg);
            break;
        case O_ENL: o->features = parse_features(optarg); break;
        case O_SERIAL:
            if (strcmp(optarg, "stdio") && strcmp(optarg, "none") &&
                !(strncmp(optarg, "file:", 5) == 0 && optarg[5]))
                usage_error("--serial: '%s' is not stdio, none or file:PATH", optarg);
            o->serial = optarg;
            break;
        case O_REBOOT:
            if (!strcmp(optarg, "restart")) o->reboot_restart = true;
            else if (!strcmp(optarg, "exit")) o->reboot_restart = false;
            else usage_error("--reboot: '%s' is not restart or exit", optarg);
            break;
        case O_TRACE: o->trace_mask = parse_trace(optarg); break;
        case O_STATS: o->stats = true; break;
        case O_NOSYNC: o->no_sync_regs = true; break;
        case O_SCRUB:
            if (!strcmp(optarg, "on")) o->no_autoeoi_scrub = false;
            else if (!strcmp(optarg, "off")) o->no_autoeoi_scrub = true;
            else usage_error("--autoeoi-scrub: '%s' is not on or off", optarg);
            break;
        case O_VMBUS:
            if (!strcmp(optarg, "on")) o->vmbus = 1;
            else if (!strcmp(optarg, "off")) o->vmbus = 0;
            else usage_error("--vmbus: '%s' is not on or off", optarg);
            break;
        case O_IC: o->ic = optarg; break;
        case O_NIC:
            if (o->nr_nics == VMM_MAX_NICS)
                usage_error("--nic: at most %u NICs", VMM_MAX_NICS);
            o->nics[o->nr_nics++] = optarg;
            break;
        case O_DISK:
            if (o->nr_disks == VMM_MAX_DISKS)
                usage_error("--disk: at most %u disks", VMM_MAX_DISKS);
            o->disks[o->nr_disks++] = optarg;
            break;
        case O_CTL:
            if (!*optarg)
                usage_error("--ctl: empty path");
            o->ctl_path = optarg;
            break;
        case O_ECHO: o->hv_echo = true; break;
        case O_SHARED:
            if (!strcmp(optarg, "on")) shared = 1;
            else if (!strcmp(optarg, "off")) shared = 0;
            else usage_error("--shared-ram: '%s' is not on or off", optarg);
            break;
        case O_HELP: usage(stdout); exit(0);
        case ':':
            usage_error("option %s needs an argument", argv[optind - 1]);
        default:
            usage_error("unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        usage_error("unexpected argument '%s' (see --help)", argv[optind]);
    if (!o->kernel)
        usage_error("--kernel is required (see --help)");

    /* VMBus and the echo service talk to the guest through SynIC messages
     * and event flags, HvPostMessage and HvSignalEvent. */
    hv_features_t need = HV_FEATURE_BIT(HV_F_SYNIC) | HV_FEATURE_BIT(HV_F_POST_MESSAGES) |
                         HV_FEATURE_BIT(HV_F_SIGNAL_EVENTS);
    bool can = (o->features & need) == need;
    if (o->vmbus == 1 && !can)
        usage_error("--vmbus on needs the synic, post_messages and signal_events enlightenments");
    if (o->hv_echo && !can)
        usage_error("--hv-echo needs the synic, post_messages and signal_events enlightenments");
    if (o->vmbus < 0)
        o->vmbus = can;
    o->shared_ram = shared < 0 ? o->nr_nics > 0 : shared == 1;
    if (o->nr_nics && !o->shared_ram)
        usage_error("--nic needs --shared-ram on (the NIC maps the guest's scattered buffers)");
    if (!o->vmbus && (o->ic || o->nr_nics || o->nr_disks))
        usage_error("%s needs VMBus (--vmbus on and its enlightenments)",
                    o->ic ? "--ic" : o->nr_nics ? "--nic" : "--disk");
}

static void alloc_ram(struct vmm *vm)
{
    vm->ram_size = vm->opt.mem;
    vm->low_size = vm->ram_size < VMM_LOW_RAM_MAX ? vm->ram_size : VMM_LOW_RAM_MAX;
    vm->high_size = vm->ram_size - vm->low_size;
    if (vmm_ram_alloc(vm) < 0)
        usage_error("--mem: cannot map %" PRIu64 " MiB: %s", vm->ram_size >> 20, strerror(errno));
}

static void init_vcpus(struct vmm *vm)
{
    vm->nr_vcpus = vm->opt.smp;
    vm->vcpus = calloc(vm->nr_vcpus, sizeof(struct vcpu));
    if (!vm->vcpus)
        vmm_die(VMM_EXIT_FATAL, "out of memory");
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        v->vm = vm;
        v->index = i;
        v->fd = -1;
        v->flush_wait = calloc(vm->nr_vcpus, sizeof(uint64_t));
        if (!v->flush_wait)
            vmm_die(VMM_EXIT_FATAL, "out of memory");
        pthread_mutex_init(&v->idle_lock, NULL);
        pthread_mutex_init(&v->tlock, NULL);
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&v->idle_cond, &ca);
        pthread_condattr_destroy(&ca);
    }
}

/* Per-boot vCPU state back to nothing pending. */
static void reset_vcpus(struct vmm *vm)
{
    for (uint32_t i = 0; i < vm->nr_vcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        atomic_store(&v->reqs, 0);
        atomic_store(&v->in_guest, 0);
        atomic_store(&v->flush_req, 0);
        atomic_store(&v->flush_done, 0);
        for (int j = 0; j < 4; j++)
            atomic_store(&v->autoeoi_outstanding[j], 0);
        v->idle_wake = false;
        v->exit_tsc = 0;
    }
}

static void boot_guest(struct vmm *vm, const struct vmm_image *k, enum vmm_kernel_kind kind)
{
    char err[512];
    pthread_mutex_lock(&vm->inject_lock);
    vmm_create_vm(vm);
    pthread_mutex_unlock(&vm->inject_lock);
    /* KVM chose the guest TSC offset only now (guest TSC ~0): reference
     * time starts at 0 with each boot (TLFS: at partition start). */
    if (vm->hv_ready)
        hv_time_set_ref(&vm->part, 0);
    vm->rsdp_gpa = vmm_acpi_build(vm);
    int r = kind == VMM_KERNEL_BZIMAGE ? vmm_load_bzimage(vm, k, err, sizeof(err))
                                       : vmm_load_multiboot(vm, k, err, sizeof(err));
    if (r < 0) {
        if (vm->boots == 0)
            usage_error("%s", err);
        vmm_die(VMM_EXIT_FATAL, "reboot: %s", err);
    }
    vm->boots++;
}

int main(int argc, char **argv)
{
    static struct vmm vm_storage;
    struct vmm *vm = &vm_storage;
    char err[512];

    parse_options(argc, argv, &vm->opt);
    vm->vm_fd = -1;
    if (vmm_open_kvm(vm, err, sizeof(err)) < 0)
        usage_error("%s", err);

    struct vmm_image kernel;
    enum vmm_kernel_kind kind;
    if (vmm_read_file(vm->opt.kernel, &kernel, err, sizeof(err)) < 0)
        usage_error("--kernel: %s", err);
    if (vmm_kernel_probe(&kernel, &kind, err, sizeof(err)) < 0)
        usage_error("%s", err);
    if (kind == VMM_KERNEL_BZIMAGE && vm->opt.initrd && strchr(vm->opt.initrd, ','))
        usage_error("--initrd: a bzImage takes one initrd file");

    pthread_mutex_init(&vm->inject_lock, NULL);
    pthread_mutex_init(&vm->pause_lock, NULL);
    pthread_mutex_init(&vm->park_lock, NULL);
    pthread_cond_init(&vm->park_cond, NULL);
    pthread_mutex_init(&vm->flush_lock, NULL);
    pthread_cond_init(&vm->flush_cond, NULL);
    pthread_mutex_init(&vm->stop_lock, NULL);
    pthread_cond_init(&vm->stop_cond, NULL);

    alloc_ram(vm);
    init_vcpus(vm);
    vmm_tsc_calibrate(vm);
    vmm_hv_init(vm);

    serial_init(vm);
    debug_exit_init(vm);
    fw_cfg_init(vm);
    pm_init(vm);
    rtc_init(vm);

    /* Only vCPU threads take the kick signal. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    vm->start_ns = vmm_now_ns();

    /* After SIGUSR1 is blocked: the loop thread and NIC poll threads
     * inherit the mask and never take a vCPU kick. */
    if (vmm_inbox_init(&vm->inbox, VMBUS_EVENT_CONNECTION_BASE, VMM_BUS_MAX_CHANNELS) < 0)
        vmm_die(VMM_EXIT_FATAL, "eventfd: %s", strerror(errno));
    if (vm->opt.hv_echo && vmm_echo_init(vm) < 0)
        vmm_die(VMM_EXIT_FATAL, "--hv-echo: cannot register its connections");
    if (vm->opt.vmbus && vmm_bus_create(vm, err, sizeof(err)) < 0)
        usage_error("%s", err);
    if (vm->opt.ctl_path && vmm_ctl_open(vm, vm->opt.ctl_path, err, sizeof(err)) < 0)
        usage_error("%s", err);
    if (vm->bus || vm->ctl)
        vmm_loop_start(vm);

    int status;
    for (;;) {
        reset_vcpus(vm);
        boot_guest(vm, &kernel, kind);
        vmm_start_vcpus(vm);

        pthread_mutex_lock(&vm->stop_lock);
        while (atomic_load(&vm->stop) == VMM_RUNNING)
            pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
        pthread_mutex_unlock(&vm->stop_lock);

        vmm_join_vcpus(vm);
        enum vmm_stop why = (enum vmm_stop)atomic_load(&vm->stop);
        status = vm->exit_status;
        if (why == VMM_STOP_RESET && vm->opt.reboot_restart) {
            fprintf(stderr, "hvshim-kvm: guest reboot\n");
            /* The bus forgets the old guest (channels closed, devices kept
             * for the next connection) before the core and RAM do. */
            vmm_loop_reset(vm);
            vmm_hv_reset(vm);
            vmm_timers_reset(vm);
            pthread_mutex_lock(&vm->inject_lock);
            vmm_destroy_vm(vm);
            pthread_mutex_unlock(&vm->inject_lock);
            /* Fresh zero pages for the next boot. */
            vmm_ram_clear(vm);
            serial_reset(vm);
            vm->exit_status = 0;
            atomic_store(&vm->stop, VMM_RUNNING);
            continue;
        }
        if (why == VMM_STOP_RESET)
            fprintf(stderr, "hvshim-kvm: guest reset (--reboot=exit)\n");
        break;
    }
    vmm_loop_stop(vm);
    if (vm->opt.stats)
        vmm_stats_print(vm, vmm_now_ns() - vm->start_ns);
    fflush(stdout);
    /* Devices first (their last callbacks may answer control clients),
     * then the socket. */
    vmm_bus_destroy(vm);
    vmm_ctl_close(vm);
    vmm_inbox_destroy(&vm->inbox);
    serial_shutdown(vm);
    vmm_hv_destroy(vm);
    vmm_destroy_vm(vm);
    free(kernel.data);
    return status;
}
