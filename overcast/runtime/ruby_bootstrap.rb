# overcast's Ruby runtime client: speaks the Lambda Runtime API over HTTP, as AWS's runtime for
# Ruby does (AWS's client is a gem from rubygems.org, which overcast does not install). What a
# function sees is what AWS documents for Ruby handlers (docs/lambda.md, "Ruby"): the handler
# `file.method` or `file.Module::Class.method` called with `event:` and `context:`, the context
# object's readers, the result answered as JSON, and errors as
# {"errorMessage", "errorType": "Function<ErrorClass>", "stackTrace"} ("Init<ErrorClass>" when the
# code cannot be loaded).
require "json"
require "net/http"

module OvercastRuntime
  PREFIX = "/2018-06-01/runtime"

  # What AWS's Ruby context object answers.
  class Context
    attr_reader :aws_request_id, :invoked_function_arn, :function_name, :function_version,
                :memory_limit_in_mb, :log_group_name, :log_stream_name, :deadline_ms,
                :identity, :client_context

    def initialize(headers)
      @aws_request_id = headers["lambda-runtime-aws-request-id"]
      @invoked_function_arn = headers["lambda-runtime-invoked-function-arn"]
      @deadline_ms = headers["lambda-runtime-deadline-ms"].to_i
      @function_name = ENV["AWS_LAMBDA_FUNCTION_NAME"]
      @function_version = ENV["AWS_LAMBDA_FUNCTION_VERSION"]
      @memory_limit_in_mb = ENV["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
      @log_group_name = ENV["AWS_LAMBDA_LOG_GROUP_NAME"]
      @log_stream_name = ENV["AWS_LAMBDA_LOG_STREAM_NAME"]
      @identity = parsed(headers["lambda-runtime-cognito-identity"])
      @client_context = parsed(headers["lambda-runtime-client-context"])
    end

    def get_remaining_time_in_millis
      [@deadline_ms - Process.clock_gettime(Process::CLOCK_REALTIME, :millisecond), 0].max
    end

    private

    def parsed(text)
      text.nil? || text.empty? ? nil : JSON.parse(text)
    end
  end

  # An error as the Runtime API takes it: the class in errorType, classified as AWS's client does;
  # the stack trace is the function's, without this client's frames or Ruby's own `require`.
  def self.error_payload(error, classification)
    trace = (error.backtrace || []).reject { |line| line.start_with?(__FILE__, "<internal:") }
    {
      "errorMessage" => error.message,
      "errorType" => "#{classification}<#{error.class}>",
      "stackTrace" => trace,
    }
  end

  class Client
    def initialize(address)
      host, port = address.split(":")
      @http = Net::HTTP.new(host, port.to_i)
      @http.read_timeout = nil # the next invocation may be a long time coming
      @http.keep_alive_timeout = 3600
      @http.start
    end

    def next_invocation
      response = @http.request(Net::HTTP::Get.new("#{PREFIX}/invocation/next"))
      headers = {}
      response.each_header { |name, value| headers[name.downcase] = value }
      [headers, response.body]
    end

    def respond(request_id, result)
      post("#{PREFIX}/invocation/#{request_id}/response", JSON.generate(result))
    end

    def fail(path, payload)
      post(path, JSON.generate(payload), payload["errorType"])
    end

    private

    def post(path, body, error_type = nil)
      request = Net::HTTP::Post.new(path, "Content-Type" => "application/json")
      request["Lambda-Runtime-Function-Error-Type"] = error_type if error_type
      request.body = body
      @http.request(request)
    end
  end

  # The handler `file.method` or `file.Module::Class.method`: the file (up to the first dot) is
  # loaded from the function's code, the method called on the module or class named, else on the
  # top level.
  def self.load_handler(spec)
    file, _, rest = spec.partition(".")
    owner_name, _, method_name = rest.rpartition(".")
    raise ArgumentError, "Bad handler #{spec}" if file.empty? || method_name.empty?

    require File.join(ENV.fetch("LAMBDA_TASK_ROOT", Dir.pwd), file)
    owner = owner_name.empty? ? TOPLEVEL_BINDING.receiver : Object.const_get(owner_name)
    unless owner.respond_to?(method_name, true)
      raise NoMethodError, "undefined method `#{method_name}' for #{owner_name.empty? ? 'main:Object' : owner_name}"
    end

    owner.method(method_name)
  end

  def self.run
    $stdout.sync = true
    $stderr.sync = true
    client = Client.new(ENV.fetch("AWS_LAMBDA_RUNTIME_API"))
    begin
      handler = load_handler(ENV.fetch("_HANDLER"))
    rescue ScriptError, StandardError => e
      payload = error_payload(e, "Init")
      puts JSON.generate(payload)
      client.fail("#{PREFIX}/init/error", payload)
      exit!(1)
    end
    loop do
      headers, body = client.next_invocation
      request_id = headers["lambda-runtime-aws-request-id"]
      # as AWS's runtime does: the invocation's trace header for the SDK's calls (recursive loop
      # detection counts on it)
      trace = headers["lambda-runtime-trace-id"]
      trace ? ENV["_X_AMZN_TRACE_ID"] = trace : ENV.delete("_X_AMZN_TRACE_ID")
      begin
        event = body.nil? || body.empty? ? nil : JSON.parse(body)
        result = handler.call(event: event, context: Context.new(headers))
        client.respond(request_id, result)
      rescue StandardError, ScriptError => e
        payload = error_payload(e, "Function")
        puts JSON.generate(payload)
        client.fail("#{PREFIX}/invocation/#{request_id}/error", payload)
      end
    end
  end
end

OvercastRuntime.run
