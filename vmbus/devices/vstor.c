/* SPDX-License-Identifier: MIT */
/* Storage packet decoder and completion builders (pure). */
#include <string.h>

#include "vmbus/devices/vstor.h"

int vstor_decode(const void *data, uint32_t len, struct vstor_request *out)
{
    memset(out, 0, sizeof(*out));
    if (len < sizeof(struct vstor_packet))
        return VSTOR_DECODE_SHORT;
    /* Bytes beyond 64 (ring padding, a larger packet) are ignored. */
    memcpy(&out->pkt, data, sizeof(out->pkt));
    out->operation = out->pkt.operation;
    out->flags = out->pkt.flags;
    if (out->operation != VSTOR_OP_EXECUTE_SRB)
        return VSTOR_DECODE_OK;

    const struct vstor_srb *srb = &out->pkt.srb;
    if (srb->cdb_length == 0 || srb->cdb_length > VSTOR_CDB_MAX)
        return VSTOR_DECODE_BAD_SRB;
    if (srb->data_in > VSTOR_DIR_NONE)
        return VSTOR_DECODE_BAD_SRB;
    out->cdb_length = srb->cdb_length;
    memcpy(out->cdb, srb->cdb, srb->cdb_length);   /* rest stays zero */
    out->sense_max = srb->sense_info_length < VSTOR_SENSE_MAX ? srb->sense_info_length
                                                              : (uint8_t)VSTOR_SENSE_MAX;
    out->direction = srb->data_in;
    out->transfer_length = srb->data_transfer_length;
    return VSTOR_DECODE_OK;
}

void vstor_srb_completion(const struct vstor_request *req, uint8_t srb_status,
                          uint8_t scsi_status, uint32_t transferred, const uint8_t *sense,
                          uint8_t sense_len, struct vstor_packet *out)
{
    /* Echo the guest's SRB (Hyper-V does; Linux reads only the statuses,
     * the length and the sense), then fill in the outcome. */
    memset(out, 0, sizeof(*out));
    out->operation = VSTOR_OP_COMPLETE_IO;
    out->status = VSTOR_STATUS_SUCCESS;
    out->srb = req->pkt.srb;
    out->srb.length = sizeof(struct vstor_srb);
    out->srb.srb_status = srb_status;
    out->srb.scsi_status = scsi_status;
    out->srb.data_transfer_length = transferred;
    memset(out->srb.sense, 0, sizeof(out->srb.sense));
    if (sense_len > req->sense_max)
        sense_len = req->sense_max;
    if (sense && sense_len) {
        memcpy(out->srb.sense, sense, sense_len);
        out->srb.sense_info_length = sense_len;
    } else {
        out->srb.sense_info_length = 0;
    }
}

void vstor_simple_completion(uint32_t status, struct vstor_packet *out)
{
    memset(out, 0, sizeof(*out));
    out->operation = VSTOR_OP_COMPLETE_IO;
    out->status = status;
}
