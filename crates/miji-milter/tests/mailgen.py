#!/usr/bin/env python3
"""Test mail for the Postfix end-to-end and load scripts (stdlib only).

  mailgen.py KIND N            print message N of KIND to stdout (RFC 5322, CRLF-free)
  mailgen.py smtp PORT KIND COUNT [--hup PID]  send COUNT messages over SMTP to 127.0.0.1:PORT;
                               prints "accepted=A rejected=R tempfailed=T"
KIND: clean | subject | gbk | docx | redact | warn | mixed (for load: 20 KB mixed)
"""
import base64, io, os, signal, smtplib, sys, time, zipfile
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.charset import Charset, QP

FROM = "sender@miji.test"
TO = "alice@miji.test"


def docx(text):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
        paras = "".join(f"<w:p><w:r><w:t>{line}</w:t></w:r></w:p>" for line in text.split("\n"))
        z.writestr("word/document.xml",
                   '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                   f"<w:body>{paras}</w:body></w:document>")
    return buf.getvalue()


def message(kind, n):
    tag = f"{kind}-{n}-{os.getpid()}"
    if kind == "clean":
        m = MIMEText(f"Hello, the weekly report is attached in spirit. token={tag}\n", "plain", "us-ascii")
        m["Subject"] = f"weekly report {n}"
    elif kind == "subject":
        m = MIMEText(f"See subject. token={tag}\n", "plain", "utf-8")
        m["Subject"] = Header("机密★10年 关于项目的说明", "utf-8").encode()
    elif kind == "gbk":
        import quopri
        from email.message import Message
        m = Message()
        m["MIME-Version"] = "1.0"
        m["Content-Type"] = 'text/plain; charset="gbk"'
        m["Content-Transfer-Encoding"] = "quoted-printable"
        raw = f"机密★5年\n\n关于天穹计划的补充说明。token={tag}\n".encode("gbk")
        m.set_payload(quopri.encodestring(raw).decode("ascii"))
        m["Subject"] = f"notes {n}"
    elif kind == "docx":
        m = MIMEMultipart()
        m.attach(MIMEText(f"Plan attached. token={tag}\n", "plain", "utf-8"))
        a = MIMEApplication(docx("TOP SECRET//NOFORN\nOperation plan\nTOP SECRET//NOFORN"),
                            "vnd.openxmlformats-officedocument.wordprocessingml.document")
        a.add_header("Content-Disposition", "attachment", filename="plan.docx")
        m.attach(a)
        m["Subject"] = f"plan {n}"
    elif kind == "redact":
        m = MIMEText(f"The Project Redwood budget is below. token={tag}\n", "plain", "us-ascii")
        m["Subject"] = f"budget {n}"
    elif kind == "warn":
        m = MIMEText(f"Bluebird meets on Monday. token={tag}\n", "plain", "us-ascii")
        m["Subject"] = f"meeting {n}"
    elif kind == "load":
        # ~20 KB: mostly prose, every 10th has a marking, every 10th a warn term.
        body = ("The quarterly numbers look fine and the team is on track. " * 340)[:20000]
        if n % 10 == 3:
            body = "机密★10年\n\n" + body
        elif n % 10 == 7:
            body = "Bluebird\n" + body
        m = MIMEText(body + f"\ntoken={tag}\n", "plain", "utf-8")
        m["Subject"] = f"load {n}"
    else:
        raise SystemExit(f"unknown kind {kind}")
    m["From"] = FROM
    m["To"] = TO
    m["Message-ID"] = f"<{tag}@miji.test>"
    return m.as_bytes()


def smtp(port, kind, count, hup_pid=None):
    acc = rej = tmp = 0
    lat = []
    s = smtplib.SMTP("127.0.0.1", port, timeout=120)
    last_hup = 0.0
    for n in range(count):
        if hup_pid and time.time() - last_hup > 0.05:
            os.kill(hup_pid, signal.SIGHUP)
            last_hup = time.time()
        msg = message(kind, n)
        t = time.perf_counter()
        try:
            s.sendmail(FROM, [TO], msg)
            acc += 1
        except smtplib.SMTPDataError as e:
            if 400 <= e.smtp_code < 500:
                tmp += 1
            else:
                rej += 1
            s.rset()
        lat.append(time.perf_counter() - t)
    s.quit()
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
    print(f"accepted={acc} rejected={rej} tempfailed={tmp} p50_ms={p(0.5):.2f} p99_ms={p(0.99):.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "smtp":
        hup = int(sys.argv[6]) if len(sys.argv) > 6 and sys.argv[5] == "--hup" else None
        smtp(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), hup)
    else:
        sys.stdout.buffer.write(message(sys.argv[1], int(sys.argv[2])))
