// EPUBCheck on several books in one Java (each a few seconds of start-up and JIT saved): tests/check_epub.py.
public class EpubCheckBatch {
    public static void main(String[] files) {
        for (String file : files) {
            System.out.println("=== " + file);
            new com.adobe.epubcheck.tool.EpubChecker().run(new String[] {file});
        }
    }
}
