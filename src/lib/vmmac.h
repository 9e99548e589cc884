/*
 * VM identity: uuid.bios and the MAC addresses of VM network adapters.
 *
 * VMware's rules (reference: networking-and-storage.md, "VM MAC"):
 *  - a standalone host generates 00:0c:29 followed by the last three
 *    bytes of the VM's uuid.bios; vmk spaces the adapters of one VM as
 *    VMware does, ethernetN at generatedAddressOffset 10 * N added to
 *    those three bytes;
 *  - a static (manual) address must lie in 00:50:56:00:00:00 to
 *    00:50:56:3f:ff:ff, unless the .vmx turns the check off;
 *  - vCenter assigns 00:50:56:80:00:00 to 00:50:56:bf:ff:ff (addressType
 *    vpx), which vmk accepts but never generates.
 * uuid.bios is 16 bytes written "56 4d 67 fa b9 f2 da 11-aa 79 47 50 07
 * db 8b 71"; a new one is random with VMware's "56 4d" first bytes.
 */
#ifndef VMK_VMMAC_H
#define VMK_VMMAC_H

#include <stdbool.h>
#include <stdint.h>

#define VMX_GENERATED_OFFSET_STEP 10

/* "56 4d 67 fa b9 f2 da 11-aa 79 47 50 07 db 8b 71" (48 bytes with NUL). */
#define VMX_UUID_STRLEN 48
void vmx_uuid_format(const uint8_t uuid[16], char buf[VMX_UUID_STRLEN]);
/* Parses that format (hex case-insensitive); 0 or -1. */
int vmx_uuid_parse(const char *s, uint8_t uuid[16]);
/* "00:0c:29:ab:cd:ef" (18 bytes with NUL). */
void vmx_mac_format(const uint8_t mac[6], char buf[18]);
/* Six hex pairs separated by ':' (or '-'); 0 or -1. */
int vmx_mac_parse(const char *s, uint8_t mac[6]);
/* The MAC of a generated ethernetN: 00:0c:29, then bytes 13..15 of
 * uuid.bios plus offset (10 * N, as VMware spaces them) in 24 bits. */
void vmx_mac_generated(const uint8_t uuid[16], unsigned offset, uint8_t mac[6]);
/* Random uuid.bios (getrandom); 0, or -1 if no randomness. */
int vmx_uuid_generate(uint8_t uuid[16]);
/* Which range a MAC lies in. */
bool vmx_mac_is_static_range(const uint8_t mac[6]);  /* 00:50:56:00-3f */
bool vmx_mac_is_vpx_range(const uint8_t mac[6]);     /* 00:50:56:80-bf */
bool vmx_mac_is_generated_range(const uint8_t mac[6]); /* 00:0c:29 */
/* Usable as an adapter's address: not multicast, not all zero. */
bool vmx_mac_is_unicast(const uint8_t mac[6]);

#endif
