"""Datastores beyond datastore1: `vim-cmd hostsvc/datastore/localcreate
NAME PATH` makes an existing directory a datastore, `listsummary` lists
them, `remove` takes one away once no registered VM lives in it.  Bad
input gives one line and changes nothing."""
import os
import subprocess

from conftest import BUILD
from vmkd_vm_util import call, datastore, register, vmhost, write_vmx

assert vmhost  # a fixture

VIMCMD = os.path.join(BUILD, "src", "cli", "vim-cmd")


def vimcmd(h, *args):
    p = subprocess.run([VIMCMD, "--instance", h.name] + list(args), env=h.env,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def names(h):
    return [d["VolumeName"] for d in h.json("storage", "filesystem", "list")]


def test_localcreate_list_register_remove(vmhost, tmp_path):
    h = vmhost
    d = tmp_path / "ds2"
    d.mkdir()
    rc, out, err = vimcmd(h, "hostsvc/datastore/localcreate", "fast", str(d))
    assert rc == 0 and out == "" and err == "", (rc, out, err)
    assert names(h) == ["datastore1", "fast"]
    rc, out, _ = vimcmd(h, "hostsvc/datastore/listsummary")
    assert rc == 0 and out.startswith("(vim.Datastore.Summary) [\n"), out
    assert 'name = "fast"' in out and 'url = "%s"' % os.path.realpath(d) in out, out
    assert "accessible = true" in out
    assert "datastore fast created at %s" % os.path.realpath(d) in h.log()

    # a VM in it shows as [fast] dir/name.vmx and keeps the datastore
    os.makedirs(d / "web")
    path = str(d / "web" / "web.vmx")
    with open(write_vmx(h, "web")) as src, open(path, "w") as dst:
        dst.write(src.read())
    vmid = register(h, path)
    assert [v["file"] for v in call(h, "vmsvc.getallvms") if v["vmid"] == vmid] == \
        ["[fast] web/web.vmx"]
    rc, out, _ = vimcmd(h, "hostsvc/datastore/remove", "fast")
    assert rc != 0 and "virtual machine web is registered on it" in out + _, (out, _)
    assert names(h) == ["datastore1", "fast"]
    call(h, "vmsvc.unregister", vmid=vmid)
    rc, out, err = vimcmd(h, "hostsvc/datastore/remove", "fast")
    assert rc == 0 and out == "", (out, err)
    assert names(h) == ["datastore1"]
    assert os.path.exists(path)  # the files stay


def test_bad_datastores_change_nothing(vmhost, tmp_path):
    h = vmhost
    f = tmp_path / "file"
    f.write_text("x")
    inside = os.path.join(datastore(h), "sub")
    os.makedirs(inside)
    before = h.db_dump()
    cases = [
        (("localcreate", "x", "relative/dir"), "absolute path"),
        (("localcreate", "x", str(tmp_path / "nope")), "No such file"),
        (("localcreate", "x", str(f)), "not a directory"),
        (("localcreate", "datastore1", str(tmp_path)), "a datastore of that name exists"),
        (("localcreate", "x", inside), "overlaps datastore datastore1"),
        (("localcreate", "x", os.path.dirname(datastore(h))), "overlaps datastore datastore1"),
        (("localcreate", "a/b", str(tmp_path)), "Invalid name 'a/b'"),
        (("localcreate", "", str(tmp_path)), "1 to 42 characters"),
        (("localcreate", "x" * 43, str(tmp_path)), "1 to 42 characters"),
        (("localcreate", "x"), "path"),
        (("remove", "nosuch"), "no such datastore"),
    ]
    for args, want in cases:
        rc, out, err = vimcmd(h, "hostsvc/datastore/" + args[0], *args[1:])
        assert rc != 0, (args, out, err)
        text = (out + err).strip()
        assert want in text, (args, text)
        assert h.db_dump() == before, args
