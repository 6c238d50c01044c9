# aslan's Python runtime for Lambda-style handlers: `python3 python.py CODE_DIR MODULE FUNCTION once|pool`.
# once: the event is stdin; the result is printed on stdout (exit 0) or the error object (exit 1).
# pool: one request per stdin line, {"requestId", "event", "deadlineMs"}; one answer per stdout line,
# {"result": ...} or {"error": "<error object as JSON text>"}.
# The handler's own prints go to stderr (the execution's log), as Lambda sends them to its logs.
import importlib
import json
import os
import sys
import time
import traceback


class Context:
    def __init__(self, request_id, deadline_ms):
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.invoked_function_arn = os.environ.get("ASLAN_FUNCTION_ARN", "")
        self.log_group_name = "/aws/lambda/" + self.function_name
        self.log_stream_name = "aslan"
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def error_object(exc, request_id, code_dir):
    frames = traceback.extract_tb(exc.__traceback__)[1:]
    stack = []
    for frame in frames:
        name = frame.filename
        if name.startswith(code_dir + os.sep):
            # Lambda runs the code from /var/task; stack traces read the same here.
            name = "/var/task" + name[len(code_dir):]
        text = '  File "{}", line {}, in {}\n'.format(name, frame.lineno, frame.name)
        if frame.line:
            text += "    {}\n".format(frame.line.strip())
        stack.append(text)
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": stack,
    }


def main():
    code_dir, module_name, function_name, mode = sys.argv[1:5]
    code_dir = os.path.realpath(code_dir)
    sys.path.insert(0, code_dir)
    out = sys.stdout
    sys.stdout = sys.stderr
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as exc:  # Lambda: Runtime.ImportModuleError / Runtime.HandlerNotFound
        kind = "Runtime.HandlerNotFound" if isinstance(exc, AttributeError) else "Runtime.ImportModuleError"
        error = {"errorMessage": "Unable to import module '{}': {}".format(module_name, exc), "errorType": kind, "requestId": "", "stackTrace": []}
        if mode == "once":
            out.write(json.dumps(error))
            out.flush()
            sys.exit(1)
        for line in sys.stdin:
            out.write(json.dumps({"error": json.dumps(error)}) + "\n")
            out.flush()
        return
    if mode == "once":
        request_id = os.environ.get("ASLAN_REQUEST_ID", "")
        deadline = float(os.environ.get("ASLAN_DEADLINE_MS", "0") or 0)
        raw = sys.stdin.read()
        try:
            event = json.loads(raw) if raw.strip() else {}
            result = handler(event, Context(request_id, deadline))
            out.write(json.dumps(result))
            out.flush()
        except Exception as exc:
            out.write(json.dumps(error_object(exc, request_id, code_dir)))
            out.flush()
            sys.exit(1)
        return
    for line in sys.stdin:
        request = json.loads(line)
        request_id = request.get("requestId", "")
        try:
            result = handler(request.get("event"), Context(request_id, request.get("deadlineMs", 0)))
            answer = {"result": result}
            text = json.dumps(answer)
        except Exception as exc:
            text = json.dumps({"error": json.dumps(error_object(exc, request_id, code_dir))})
        out.write(text + "\n")
        out.flush()


main()
