#!/usr/bin/env python3
"""Rewrites each real sample in original/ as one getTransaction result (encoding json) in tx/.

The originals come in many shapes (getTransaction json / jsonParsed / base64, a blockSubscribe
entry, yellowstone-vixen gRPC mocks with int arrays, Helius enhanced webhooks, carbon instruction
fixtures). The tests build every input form the decoder accepts from one shape, so this script
only changes the shape: every key, index, instruction byte, log line and meta value is copied.
What a shape lacks stays absent (no logs in a webhook, no slot in an instruction fixture) and is
named in each output's "derivation". Where the original is a whole signed message, the rebuilt
message's ed25519 signatures are checked here (PyNaCl) and again by the Rust tests.

Run from this directory: python3 derive.py   (needs base58 and PyNaCl)
"""
import base64
import json
import os
import struct

import base58
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

# name: (original file, network, shape)
SAMPLES = {
    "launchlab_init_token2022_5RfEZ834": ("launchlab_init_token2022_5RfEZ834.json", "mainnet", "json"),
    "launchlab_init_token2022_v1_zL5q74Xw": ("launchlab_init_token2022_v1_zL5q74Xw.json", "mainnet", "json"),
    "launchlab_init_token2022_v1_j7_z9u5Quug": ("launchlab_init_token2022_v1_j7_z9u5Quug.json", "mainnet", "json"),
    "launchlab_init_token2022_2dnvjQoB": ("launchlab_init_token2022_2dnvjQoB.json", "mainnet", "json"),
    "launchlab_init_token2022_EkKE99vA": ("launchlab_init_token2022_EkKE99vA.json", "mainnet", "json"),
    "launchlab_init_v2_5LzhiGZB": ("launchlab_init_v2_5LzhiGZB.json", "mainnet", "vixen"),
    "launchlab_initialize_mqSGNwKK": ("launchlab_initialize_mqSGNwKK.json", "mainnet", "json"),
    "launchlab_buy_exact_out_3USu3YAs": ("launchlab_buy_exact_out_3USu3YAs.json", "mainnet", "base64"),
    "launchlab_buy_exact_in_cpi_8QTg427x": ("launchlab_buy_exact_in_cpi_8QTg427x.json", "mainnet", "base64"),
    "dbc_init_spl_token_5hsqkSAZ": ("dbc_init_spl_token_5hsqkSAZ.json", "devnet", "json"),
    "dbc_init_spl_token_mainnet_helius_28yEpmyp": ("dbc_init_spl_token_mainnet_helius_28yEpmyp.json", "mainnet", "webhook"),
    "dbc_init_spl_token_mainnet_helius_3tGnaX8D": ("dbc_init_spl_token_mainnet_helius_3tGnaX8D.json", "mainnet", "webhook"),
    "dbc_swap_23BXcBmn": ("dbc_swap_23BXcBmn.json", "mainnet", "vixen"),
    "dbc_swap_buy_helius_5gf6fduS": ("dbc_swap_buy_helius_5gf6fduS.json", "devnet", "webhook"),
    "dbc_swap_sell_helius_5cfHQeyT": ("dbc_swap_sell_helius_5cfHQeyT.json", "devnet", "webhook"),
    "dbc_migration_damm_v2_helius_4hhaf2y5": ("dbc_migration_damm_v2_helius_4hhaf2y5.json", "devnet", "webhook"),
    "dammv2_swap_N2jtQtjj": ("dammv2_swap_N2jtQtjj.json", "mainnet", "vixen"),
    "dammv2_swap_buy_helius_28uuEn15": ("dammv2_swap_buy_helius_28uuEn15.json", "devnet", "webhook"),
    "dammv2_swap_sell_helius_66cZgGQe": ("dammv2_swap_sell_helius_66cZgGQe.json", "devnet", "webhook"),
    "moonshot_token_mint_ix_4C9hua8F": ("moonshot_token_mint_ix_4C9hua8F.json", "mainnet", "ix"),
    "moonshot_sell_ix_4iEpC6zH": ("moonshot_sell_ix_4iEpC6zH.json", "mainnet", "ix"),
    "moonshot_buy_5UWcde33": ("moonshot_buy_5UWcde33.json", "mainnet", "vixen"),
    "boop_sell_token_53mugqLK": ("boop_sell_token_53mugqLK.json", "mainnet", "vixen"),
    "cpmm_swap_base_input_4RoVbE9H": ("cpmm_swap_base_input_4RoVbE9H.json", "mainnet", "vixen"),
    "cpmm_swap_base_input_cpi_2bhr1FWq": ("cpmm_swap_base_input_cpi_2bhr1FWq.json", "mainnet", "json"),
    "amm_v4_initialize2_5yKpvmPa": ("amm_v4_initialize2_5yKpvmPa.json", "mainnet", "notification_jsonparsed"),
    "amm_v4_initialize2_pump_migration_3yq88CT3": ("amm_v4_initialize2_pump_migration_3yq88CT3.json", "mainnet", "notification_jsonparsed"),
    "amm_v4_swap_26Yh1zLZ": ("amm_v4_swap_26Yh1zLZ.json", "mainnet", "notification_jsonparsed"),
    "amm_v4_swap_3HxRzTKr": ("amm_v4_swap_3HxRzTKr.json", "mainnet", "notification_jsonparsed"),
    "pumpfun_migrate_pumpswap_5gp7yztY": ("pumpfun_migrate_pumpswap_5gp7yztY.json", "mainnet", "raw_base64"),
    "boop_sell_token_64iMkSa7": ("boop_sell_token_64iMkSa7.json", "mainnet", "raw_base64"),
    "moonshot_buy_3hbuxW9j": ("moonshot_buy_3hbuxW9j.json", "mainnet", "raw_base64"),
    "pumpswap_buy_sell_gauADRJV": ("pumpswap_buy_sell_gauADRJV.json", "mainnet", "raw_base64"),
    "pumpswap_buy_4pCgZ28W": ("pumpswap_buy_4pCgZ28W.json", "mainnet", "vixen"),
    "cpmm_initialize_28FDVn": ("cpmm_initialize_28FDVn.json", "mainnet", "jsonparsed_result"),
    "cpmm_initialize_cpi_2ex9my": ("cpmm_initialize_cpi_2ex9my.json", "mainnet", "jsonparsed_result"),
    "cpmm_deposit_3YWUfe": ("cpmm_deposit_3YWUfe.json", "mainnet", "jsonparsed_result"),
    "pumpfun_migrate_pumpswap_2ffHb9AX": ("pumpfun_migrate_pumpswap_2ffHb9AX.json", "mainnet", "json"),
    "pumpfun_migrate_no_pool_5dnX6d6M": ("pumpfun_migrate_no_pool_5dnX6d6M.json", "mainnet", "json"),
    "pumpfun_buy_via_router_22K6ixTV": ("pumpfun_buy_via_router_22K6ixTV.json", "mainnet", "vixen"),
    "pumpfun_create_v2_alt_jsonparsed_2RoRJxat": ("pumpfun_create_v2_alt_jsonparsed_2RoRJxat.json", "mainnet", "jsonparsed"),
    "pumpfun_create_v2_blocksubscribe_5EDHe12K": ("pumpfun_create_v2_blocksubscribe_5EDHe12K.json", "mainnet", "base64"),
}

# The signatures of the instruction fixtures, from the sibling README each source names.
IX_SIGNATURES = {
    "moonshot_token_mint_ix_4C9hua8F": "4C9hua8FG9mZz128Mj3oB3KWqdojwDfgPceLuMCr88ZDtKYNJE91bJaC6vypNf1fKNqPgNQBprvDZsxG8s4rTaiY",
    "moonshot_sell_ix_4iEpC6zH": "4iEpC6zHUY6hEbzwuNpURyh6244nyt1m6VWL7uaKyHbxCcpfiPuNPf266MioHRgkmCj7JEPGUdR4udpGXKqZTdiZ",
}


def b58(b):
    return base58.b58encode(bytes(b)).decode()


def cu16(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def read_cu16(b, i):
    v, s = 0, 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << s
        s += 7
        if not x & 0x80:
            return v, i


def message_bytes(res):
    """The signed message of a json-encoding result (legacy, v0, v1)."""
    m = res["transaction"]["message"]
    ver = res.get("version", "legacy")
    keys = m["accountKeys"]
    h = m["header"]
    hdr = bytes([h["numRequiredSignatures"], h["numReadonlySignedAccounts"], h["numReadonlyUnsignedAccounts"]])
    datas = [base58.b58decode(ix["data"]) for ix in m["instructions"]]
    if ver == 1:
        cfg = m.get("transactionConfig") or {}
        mask, vals = 0, b""
        for bits, name, fmt in ((0b11, "priorityFee", "<Q"), (0b100, "computeUnitLimit", "<I"),
                                (0b1000, "loadedAccountsDataSizeLimit", "<I"), (0b10000, "heapSize", "<I")):
            if cfg.get(name) is not None:
                mask |= bits
                vals += struct.pack(fmt, cfg[name])
        out = bytes([0x81]) + hdr + struct.pack("<I", mask) + base58.b58decode(m["recentBlockhash"])
        out += bytes([len(datas), len(keys)]) + b"".join(base58.b58decode(k) for k in keys) + vals
        for ix, d in zip(m["instructions"], datas):
            out += bytes([ix["programIdIndex"], len(ix["accounts"])]) + struct.pack("<H", len(d))
        for ix, d in zip(m["instructions"], datas):
            out += bytes(ix["accounts"]) + d
        return out
    out = (b"\x80" if ver == 0 else b"") + hdr
    out += cu16(len(keys)) + b"".join(base58.b58decode(k) for k in keys) + base58.b58decode(m["recentBlockhash"])
    out += cu16(len(datas))
    for ix, d in zip(m["instructions"], datas):
        out += bytes([ix["programIdIndex"]]) + cu16(len(ix["accounts"])) + bytes(ix["accounts"]) + cu16(len(d)) + d
    if ver == 0:
        luts = m.get("addressTableLookups") or []
        out += cu16(len(luts))
        for lut in luts:
            out += base58.b58decode(lut["accountKey"])
            out += cu16(len(lut["writableIndexes"])) + bytes(lut["writableIndexes"])
            out += cu16(len(lut["readonlyIndexes"])) + bytes(lut["readonlyIndexes"])
    return out


def signatures_verify(res):
    """True when every signature verifies over the rebuilt message."""
    try:
        msg = message_bytes(res)
    except (KeyError, TypeError):
        return False
    keys = res["transaction"]["message"]["accountKeys"]
    sigs = res["transaction"]["signatures"]
    try:
        for k, s in zip(keys, sigs):
            VerifyKey(base58.b58decode(k)).verify(msg, base58.b58decode(s))
    except (BadSignatureError, ValueError):
        return False
    return bool(sigs)


def from_json(d):
    r = d.get("result", d) if isinstance(d, dict) else d[0]
    if isinstance(r, list):
        r = r[0]
    return r, "the getTransaction result as published (encoding json)"


def parse_wire(raw):
    """A legacy or v0 wire transaction -> (signatures, version, message json)."""
    n, i = read_cu16(raw, 0)
    sigs = [b58(raw[i + 64 * k:i + 64 * (k + 1)]) for k in range(n)]
    i += 64 * n
    ver = "legacy"
    if raw[i] & 0x80:
        ver = raw[i] & 0x7F
        i += 1
    hdr = raw[i:i + 3]
    i += 3
    nk, i = read_cu16(raw, i)
    keys = [b58(raw[i + 32 * k:i + 32 * (k + 1)]) for k in range(nk)]
    i += 32 * nk
    blockhash = b58(raw[i:i + 32])
    i += 32
    nix, i = read_cu16(raw, i)
    ixs = []
    for _ in range(nix):
        p = raw[i]
        i += 1
        na, i = read_cu16(raw, i)
        acc = list(raw[i:i + na])
        i += na
        nd, i = read_cu16(raw, i)
        ixs.append({"programIdIndex": p, "accounts": acc, "data": b58(raw[i:i + nd]), "stackHeight": None})
        i += nd
    msg = {"header": {"numRequiredSignatures": hdr[0], "numReadonlySignedAccounts": hdr[1],
                      "numReadonlyUnsignedAccounts": hdr[2]},
           "accountKeys": keys, "recentBlockhash": blockhash, "instructions": ixs}
    if ver == 0:
        nl, i = read_cu16(raw, i)
        luts = []
        for _ in range(nl):
            key = b58(raw[i:i + 32])
            i += 32
            nw, i = read_cu16(raw, i)
            w = list(raw[i:i + nw])
            i += nw
            nr, i = read_cu16(raw, i)
            r = list(raw[i:i + nr])
            i += nr
            luts.append({"accountKey": key, "writableIndexes": w, "readonlyIndexes": r})
        msg["addressTableLookups"] = luts
    assert i == len(raw)
    return sigs, ver, msg


def from_base64(d):
    r = d.get("result", d)
    raw = base64.b64decode(r["transaction"][0])
    sigs, ver, msg = parse_wire(raw)
    out = {k: v for k, v in r.items() if k != "transaction"}
    out["transaction"] = {"signatures": sigs, "message": msg}
    out["version"] = ver
    return out, "the message parsed from the base64 wire bytes; meta and the rest copied"


def from_notification_jsonparsed(d):
    """A Helius transactionNotification (jsonParsed) -> the getTransaction result it carries."""
    res = d["params"]["result"]
    r = dict(res["transaction"])
    r["slot"] = res["slot"]
    out, how = from_jsonparsed({"result": r})
    return out, "transactionNotification (params.result.transaction, slot beside it) read as " + how


def from_jsonparsed(d):
    r = d["result"]
    m = r["transaction"]["message"]
    keys_all = m["accountKeys"]
    static = [k for k in keys_all if k.get("source", "transaction") == "transaction"]
    loaded = [k for k in keys_all if k.get("source") == "lookupTable"]
    idx = {}
    for i, k in enumerate(keys_all):
        idx.setdefault(k["pubkey"], i)

    def raw(ix):
        if "parsed" not in ix:
            return ix["programId"], ix["accounts"], base58.b58decode(ix["data"])
        p, info = ix["parsed"], ix["parsed"]["info"]
        if ix["program"] == "system" and p["type"] == "transfer":
            return ix["programId"], [info["source"], info["destination"]], struct.pack("<IQ", 2, info["lamports"])
        if ix["program"] == "spl-associated-token-account" and p["type"] in ("create", "createIdempotent"):
            accs = [info["source"], info["account"], info["wallet"], info["mint"], info["systemProgram"], info["tokenProgram"]]
            return ix["programId"], accs, b"\x01" if p["type"] == "createIdempotent" else b""
        if ix["program"] == "system" and p["type"] == "createAccountWithSeed":
            accs = [info["source"], info["newAccount"]] + ([info["base"]] if info["base"] != info["source"] else [])
            seed = info["seed"].encode()
            data = struct.pack("<I", 3) + base58.b58decode(info["base"]) + struct.pack("<Q", len(seed)) + seed
            data += struct.pack("<QQ", info["lamports"], info["space"]) + base58.b58decode(info["owner"])
            return ix["programId"], accs, data
        if ix["program"] == "spl-token" and p["type"] == "initializeAccount":
            return ix["programId"], [info["account"], info["mint"], info["owner"], info["rentSysvar"]], b"\x01"
        if ix["program"] == "spl-token" and p["type"] == "syncNative":
            return ix["programId"], [info["account"]], b"\x11"
        if ix["program"] == "spl-token" and p["type"] == "closeAccount" and "owner" in info:
            return ix["programId"], [info["account"], info["destination"], info["owner"]], b"\x09"
        return None

    def to_json(ix):
        got = raw(ix)
        if got is None:
            return None
        pid, accs, data = got
        return {"programIdIndex": idx[pid], "accounts": [idx[a] for a in accs], "data": b58(data),
                "stackHeight": ix.get("stackHeight")}

    nsig = sum(k["signer"] for k in static)
    ro_s = sum(k["signer"] and not k["writable"] for k in static)
    ro_u = sum(not k["signer"] and not k["writable"] for k in static)
    msg = {"header": {"numRequiredSignatures": nsig, "numReadonlySignedAccounts": ro_s,
                      "numReadonlyUnsignedAccounts": ro_u},
           "accountKeys": [k["pubkey"] for k in static], "recentBlockhash": m["recentBlockhash"],
           "instructions": [to_json(ix) for ix in m["instructions"]],
           "addressTableLookups": m.get("addressTableLookups", [])}
    assert all(msg["instructions"])
    meta = dict(r["meta"])
    dropped = 0
    groups = []
    for g in meta.get("innerInstructions") or []:
        ixs = []
        for ix in g["instructions"]:
            j = to_json(ix)
            if j is None:
                dropped += 1
            else:
                ixs.append(j)
        groups.append({"index": g["index"], "instructions": ixs})
    meta["innerInstructions"] = groups
    meta["loadedAddresses"] = {"writable": [k["pubkey"] for k in loaded if k["writable"]],
                               "readonly": [k["pubkey"] for k in loaded if not k["writable"]]}
    out = {k: v for k, v in r.items() if k not in ("transaction", "meta")}
    out["transaction"] = {"signatures": r["transaction"]["signatures"], "message": msg}
    out["meta"] = meta
    how = ("jsonParsed -> json: static keys (source transaction) in order, lookup-table keys into "
           "meta.loadedAddresses (writable then readonly), parsed system transfer / "
           "createAccountWithSeed, ATA create(Idempotent) and token initializeAccount / syncNative / "
           "closeAccount instructions rebuilt as raw; %d parsed inner instructions of other programs (token "
           "program, system) left out" % dropped)
    return out, how


def vixen_version(res, loaded):
    for ver in (["legacy", 0] if not loaded else [0]):
        res["version"] = ver
        if signatures_verify(res):
            return ver
    res["version"] = 0 if loaded else "legacy"
    return res["version"]


def from_vixen(d):
    t = d["transaction"]
    inner_t, meta = t["transaction"], t["meta"]
    m = inner_t["message"]

    def ix(i):
        return {"programIdIndex": i["programIdIndex"], "accounts": list(i["accounts"]),
                "data": b58(i["data"]), "stackHeight": i.get("stackHeight")}

    msg = {"header": m["header"], "accountKeys": [b58(k) for k in m["accountKeys"]],
           "recentBlockhash": m["recentBlockhash"], "instructions": [ix(i) for i in m["instructions"]]}
    w = [b58(k) for k in meta.get("loadedWritableAddresses") or []]
    r = [b58(k) for k in meta.get("loadedReadonlyAddresses") or []]
    out_meta = {k: v for k, v in meta.items() if k not in ("loadedWritableAddresses", "loadedReadonlyAddresses", "innerInstructions")}
    out_meta["innerInstructions"] = [{"index": g["index"], "instructions": [ix(i) for i in g["instructions"]]}
                                     for g in meta.get("innerInstructions") or []]
    out_meta["loadedAddresses"] = {"writable": w, "readonly": r}
    res = {"slot": d["slot"], "transaction": {"signatures": inner_t["signatures"], "message": msg}, "meta": out_meta}
    ver = vixen_version(res, w or r)
    if ver == 0:
        msg["addressTableLookups"] = []
    how = ("yellowstone-vixen gRPC mock -> json: int-array keys and data as base58, "
           "meta.loadedWritableAddresses/loadedReadonlyAddresses as meta.loadedAddresses, version %r "
           "(the mock drops it; chosen as the one whose rebuilt message the signatures verify, v0 when "
           "keys were loaded)" % ver)
    if w or r:
        how += "; the mock dropped addressTableLookups, so the message is not the signed one"
    return res, how


def from_webhook(d):
    keys = [a["account"] for a in d["accountData"]]
    idx = {k: i for i, k in enumerate(keys)}

    def ix(i):
        return {"programIdIndex": idx[i["programId"]], "accounts": [idx[a] for a in i["accounts"]],
                "data": i["data"], "stackHeight": None}

    msg = {"accountKeys": keys, "instructions": [ix(i) for i in d["instructions"]]}
    inner = [{"index": n, "instructions": [ix(j) for j in i.get("innerInstructions") or []]}
             for n, i in enumerate(d["instructions"]) if i.get("innerInstructions")]
    err = d.get("transactionError")
    res = {"slot": d["slot"], "blockTime": d["timestamp"], "version": "legacy",
           "transaction": {"signatures": [d["signature"]], "message": msg},
           "meta": {"err": err, "fee": d.get("fee"), "innerInstructions": inner}}
    how = ("Helius enhanced webhook -> json: accountData order as the account keys, instruction "
           "keys as indices into it, innerInstructions grouped under their top-level index, "
           "transactionError as meta.err; the webhook has no header, blockhash or logs")
    return res, how


def from_ix(name, d):
    accs = d["accounts"]
    prog = d["program_id"]
    order = ([a for a in accs if a["is_signer"] and a["is_writable"]]
             + [a for a in accs if a["is_signer"] and not a["is_writable"]]
             + [a for a in accs if not a["is_signer"] and a["is_writable"]]
             + [a for a in accs if not a["is_signer"] and not a["is_writable"]])
    keys = []
    for a in order:
        if a["pubkey"] not in keys:
            keys.append(a["pubkey"])
    keys.append(prog)
    idx = {k: i for i, k in enumerate(keys)}
    header = {"numRequiredSignatures": sum(a["is_signer"] for a in order),
              "numReadonlySignedAccounts": sum(a["is_signer"] and not a["is_writable"] for a in order),
              "numReadonlyUnsignedAccounts": sum(not a["is_signer"] and not a["is_writable"] for a in order) + 1}
    data = bytes.fromhex(d["data"])
    msg = {"header": header, "accountKeys": keys,
           "instructions": [{"programIdIndex": idx[prog], "accounts": [idx[a["pubkey"]] for a in accs],
                             "data": b58(data), "stackHeight": None}]}
    res = {"slot": 0, "version": "legacy", "transaction": {"signatures": [IX_SIGNATURES[name]], "message": msg},
           "meta": {"err": None, "innerInstructions": []}}
    how = ("carbon instruction fixture -> a one-instruction message: its accounts as the keys "
           "(signers first, as Solana orders them) and the program last; the signature from the "
           "fixture's README; no slot, logs, other instructions or blockhash (not the signed message)")
    return res, how


def main():
    os.makedirs("tx", exist_ok=True)
    for name, (orig, network, shape) in SAMPLES.items():
        wrapper = json.load(open(os.path.join("original", orig)))
        d = wrapper["data"]
        if shape == "json":
            res, how = from_json(d)
        elif shape == "base64":
            res, how = from_base64(d)
        elif shape == "jsonparsed":
            res, how = from_jsonparsed(d)
        elif shape == "jsonparsed_result":
            res, how = from_jsonparsed({"result": d})
        elif shape == "raw_base64":
            res, how = from_base64(d["raw"])
            how = "the test case's \"raw\" getTransaction result: " + how
        elif shape == "notification_jsonparsed":
            res, how = from_notification_jsonparsed(d)
        elif shape == "vixen":
            res, how = from_vixen(d)
        elif shape == "webhook":
            res, how = from_webhook(d)
        else:
            res, how = from_ix(name, d)
        exact = "header" in res["transaction"]["message"] and "recentBlockhash" in res["transaction"]["message"] \
            and signatures_verify(res)
        out = {"original": "original/" + orig, "network": network, "derivation": how,
               "signed_message_rebuilt": exact, "result": res}
        with open(os.path.join("tx", name + ".json"), "w") as f:
            json.dump(out, f, indent=1)
        print("%-48s %-8s %-10s signed message rebuilt: %s" % (name, network, shape, exact))


if __name__ == "__main__":
    main()
